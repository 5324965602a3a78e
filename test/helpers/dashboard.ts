// A dashboard for a test bench, on a free port of 127.0.0.1, and an HTTP client for it that keeps the
// session cookie and sends the CSRF token, as the page does. Users are written with the real hashing.
import { hashPassword, newApiToken } from '../../src/dashboard/auth/index.ts';
import { startDashboard, type StartedDashboard } from '../../src/dashboard/app.ts';
import type { TestBench } from './bench.ts';
import { silentLog } from './jobs.ts';

/** Fast scrypt for tests (the default costs ~100 ms per hash). */
const TEST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };

export interface TestUser {
  name: string;
  password: string;
  role: 'admin' | 'viewer';
  sites: string[];
  /** An API token of the user (its hash is stored). */
  token: string;
}

/** Write `users` into the bench's dashboard_users (with `common`), each with a password and a token. */
export async function writeUsers(bench: TestBench, users: Omit<TestUser, 'token'>[], common: Record<string, unknown> = {}): Promise<TestUser[]> {
  const config: Record<string, unknown> = {};
  const out: TestUser[] = [];
  for (const user of users) {
    const { token, hash } = newApiToken();
    config[user.name] = { password: await hashPassword(user.password, TEST_SCRYPT), role: user.role, sites: user.sites, tokens: [hash] };
    out.push({ ...user, token });
  }
  bench.writeCommon({ ...common, dashboard_users: config });
  return out;
}

export async function serveDashboard(bench: TestBench): Promise<StartedDashboard> {
  return startDashboard({ benchPath: bench.path, host: '127.0.0.1', port: 0, log: silentLog });
}

export interface Reply<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** An HTTP client of one dashboard, with a cookie jar of one session and its CSRF token. */
export class DashboardClient {
  /** The session cookie (name=value) once logged in. */
  cookie = '';
  csrf = '';

  constructor(
    readonly base: string,
    private readonly bearer?: string,
  ) {}

  async login(user: string, password: string): Promise<Reply<{ csrfToken?: string }>> {
    const reply = await this.request<{ csrfToken?: string }>('POST', '/api/login', { user, password });
    if (reply.status === 200) this.csrf = reply.body.csrfToken ?? '';
    return reply;
  }

  get<T = unknown>(path: string): Promise<Reply<T>> {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body: unknown = {}, options: { csrf?: string; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
    return this.request<T>('POST', path, body, options);
  }

  async request<T>(method: string, path: string, body?: unknown, options: { csrf?: string; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (this.cookie) headers['cookie'] = this.cookie;
    if (this.bearer) headers['authorization'] = `Bearer ${this.bearer}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method === 'POST') headers['x-csrf-token'] = options.csrf ?? this.csrf;
    const res = await fetch(`${this.base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0] ?? '';
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON (metrics, the page): kept as text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
}
