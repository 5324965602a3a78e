// `bench dashboard`'s HTTP server (node:http): the page and its assets, the JSON API, the live event
// stream (sse.ts) and /metrics, behind the auth gate. What it enforces on every request:
//  - who asks: a session cookie or an API token (auth/), or nobody when no dashboard user is configured,
//    which is allowed only on a loopback address (startDashboard refuses anything else);
//  - no state change on GET: every action is a POST with a JSON body (a form cannot send one cross-site),
//    checked against the session's CSRF token, by an admin, for a site the user may see;
//  - a strict Content-Security-Policy: scripts only from this server (the import map by its hash), no
//    inline script, no remote asset;
//  - errors as {error: {code, message}} with a status, never a stack.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BenchConfig } from '../config/load.js';
import type { BenchClient } from '../client.js';
import { BenchError, isBenchError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Redis } from '../redis/client-type.js';
import { matchRoute, type Route } from './routes.js';
import { serveAsset, type Assets } from './static.js';
import { HttpError, requireAdmin, type Principal } from './types.js';

/** What the server needs of the auth module (auth/dashboard-auth.ts): who a request is, login and logout, CSRF. */
export interface AuthGate {
  usersConfigured(): boolean;
  /** The request's principal (session or token; the open admin when no user is configured), or undefined. */
  authenticate(req: IncomingMessage): Principal | undefined;
  /** The principal, or HttpError 401 (403 for an open dashboard asked by a name that is not loopback). */
  requirePrincipal(req: IncomingMessage): Principal;
  login(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<unknown>;
  logout(req: IncomingMessage, res: ServerResponse): void;
  /** Throws HttpError 403 when a state change lacks its CSRF token or comes from another origin. */
  checkCsrf(req: IncomingMessage, principal: Principal): void;
  whoami(req: IncomingMessage, principal: Principal): object;
}

export interface DashboardDeps {
  bench(): BenchConfig;
  client: BenchClient;
  redis: Redis;
  log: Logger;
  auth: AuthGate;
  routes: readonly Route[];
  assets: Assets;
  /** GET /events: the live stream (sse.ts). */
  events(req: IncomingMessage, res: ServerResponse, principal: Principal): void;
  /** GET /metrics: Prometheus text, or undefined when this caller may not scrape (401). */
  metrics?(principal: Principal | undefined, req: IncomingMessage): Promise<string | undefined>;
}

/** Largest JSON body accepted (an enqueue's kwargs, a bulk action's ids). */
const MAX_BODY_BYTES = 1024 * 1024;

export function dashboardHandler(deps: DashboardDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => sendError(deps.log, res, err));
  };
}

async function handle(deps: DashboardDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
  const path = url.pathname;
  setSecurityHeaders(res, deps.assets);
  if (req.method === 'GET' && (path === '/' || path.startsWith('/assets/') || path === '/favicon.ico')) {
    return serveAsset(deps.assets, path, res, req.headers['if-none-match']);
  }
  if (path === '/metrics' && req.method === 'GET' && deps.metrics) {
    const text = await deps.metrics(deps.auth.authenticate(req), req);
    if (text === undefined) throw new HttpError(401, 'ERR_UNAUTHORIZED', '/metrics needs a token (Authorization: Bearer …) unless metrics_public is true');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
    res.end(text);
    return;
  }
  if (path === '/api/login' && req.method === 'POST') return sendJson(res, await deps.auth.login(req, res, await readJson(req)));
  // The page asks who it is first: "nobody" is an answer (the login form), not an error in its console.
  if (path === '/api/me' && req.method === 'GET' && deps.auth.authenticate(req) === undefined && deps.auth.usersConfigured()) {
    return sendJson(res, { user: null, login: true });
  }
  const principal = deps.auth.requirePrincipal(req);
  if (path === '/api/logout' && req.method === 'POST') {
    deps.auth.checkCsrf(req, principal);
    deps.auth.logout(req, res);
    return sendJson(res, { ok: true });
  }
  if (path === '/api/me' && req.method === 'GET') return sendJson(res, { ...deps.auth.whoami(req, principal), login: deps.auth.usersConfigured() });
  if (path === '/events' && req.method === 'GET') return deps.events(req, res, principal);
  const found = matchRoute(deps.routes, req.method ?? 'GET', path);
  if (!found) throw new HttpError(404, 'ERR_NOT_FOUND', `no route ${req.method ?? ''} ${path}`);
  const { route, params } = found;
  if (route.method === 'POST') {
    deps.auth.checkCsrf(req, principal);
    if (route.admin !== false) requireAdmin(principal);
  }
  const body = route.method === 'POST' ? await readJson(req) : undefined;
  const result = await route.handler({ principal, bench: deps.bench, client: deps.client, redis: deps.redis, log: deps.log, query: url.searchParams, params, body });
  if (route.method === 'POST') deps.log.info({ user: principal.user, via: principal.via, action: route.name, params, body: summarize(body) }, 'dashboard action');
  sendJson(res, result);
}

/** What an action's log line keeps of its body: small values, not kwargs or long id lists. */
function summarize(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (Array.isArray(value)) out[key] = value.length > 20 ? `${value.length} items` : value;
    else if (typeof value === 'object' && value !== null) out[key] = '{…}';
    else out[key] = value;
  }
  return out;
}

/** The request's JSON body; a POST must say application/json (a cross-site form cannot). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'ERR_BODY_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  if (!/^application\/json\b/.test(type)) throw new HttpError(415, 'ERR_CONTENT_TYPE', 'send the body as application/json');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'ERR_BAD_JSON', 'the request body is not valid JSON');
  }
}

export function sendJson(res: ServerResponse, value: unknown, status = 200): void {
  const text = JSON.stringify(value ?? null);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/** Bench errors keep their code; the status follows from it. Anything else is a 500 with no detail. */
function sendError(log: Logger, res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof HttpError) return sendJson(res, { error: { code: err.code, message: err.message } }, err.status);
  if (isBenchError(err)) return sendJson(res, { error: { code: err.code, message: err.message } }, statusOf(err));
  log.error({ err }, 'dashboard request failed');
  sendJson(res, { error: { code: 'ERR_INTERNAL', message: 'the dashboard failed to answer; see its log' } }, 500);
}

function statusOf(err: BenchError): number {
  if (/NOT_FOUND/.test(err.code)) return 404;
  if (err.code === 'ERR_REDIS_UNAVAILABLE') return 503;
  if (/^ERR_(USAGE|INVALID|JOB_AMBIGUOUS|QUEUE_UNKNOWN|UNKNOWN|CONFIG|PAYLOAD|KWARGS|METHOD|JOB_LOAD|QUEUE_OVERLOADED|JOB_STATE|NOT_INDEXED)/.test(err.code)) return 400;
  return 409;
}

function setSecurityHeaders(res: ServerResponse, assets: Assets): void {
  res.setHeader(
    'content-security-policy',
    `default-src 'none'; script-src 'self' '${assets.importMapHash}'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  );
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** True for an address only this machine reaches. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

export interface RunningDashboard {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Listen on host:port; refuses a non-loopback address while no dashboard user (password) is configured. */
export async function listen(handler: ReturnType<typeof dashboardHandler>, options: { host: string; port: number; usersConfigured: boolean }): Promise<RunningDashboard> {
  if (!isLoopback(options.host) && !options.usersConfigured) {
    throw new BenchError(
      'ERR_DASHBOARD_INSECURE',
      `refusing to serve the dashboard on ${options.host} with no user configured: anyone reaching it could act on every job. Set a password first (bench dashboard set-password), or bind to 127.0.0.1`,
    );
  }
  const server = createServer(handler);
  // Long-lived SSE responses must not be cut by the default request timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new BenchError('ERR_PORT_IN_USE', `port ${options.port} on ${options.host} is in use: pick another with --port or dashboard_port`) : err),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `http://${shown}:${port}`,
    // Open event streams would keep close() waiting for ever.
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
