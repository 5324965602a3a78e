// The browser side of the dashboard's JSON API: GET and POST with the session's CSRF token (read from
// /api/me, sent as X-CSRF-Token on every POST), errors as ApiError with the server's code. A 401 sends
// the page to its login form.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Me {
  user: string;
  role: 'admin' | 'viewer';
  sites: string[];
  via: 'session' | 'token' | 'open';
  /** Users are configured: a login exists (and logout makes sense). */
  login: boolean;
  csrfToken?: string;
}

let csrfToken = '';
let onUnauthorized: () => void = () => {};

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token ?? '';
}

export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method === 'POST') {
    headers['content-type'] = 'application/json';
    headers['x-csrf-token'] = csrfToken;
  }
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  const value = text === '' ? null : (JSON.parse(text) as unknown);
  if (!res.ok) {
    const error = (value as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, error?.code ?? 'ERR_HTTP', error?.message ?? `${res.status} ${res.statusText}`);
  }
  return value as T;
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => request<T>('POST', path, body);

/** A path with its query string from `params` (undefined and '' left out). */
export function withQuery(path: string, params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, String(value));
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}
