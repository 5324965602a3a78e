// The shapes the dashboard's parts share: who is asking (a principal, from a session or an API token),
// what every route handler receives (its context), and the error a handler throws to answer with an
// HTTP status. server.ts routes requests to handlers; auth/ makes principals; api/ answers.
import type { BenchConfig } from '../config/load.js';
import type { BenchClient } from '../client.js';
import type { Logger } from '../log/logger.js';
import type { Redis } from '../redis/client-type.js';

export type DashboardRole = 'admin' | 'viewer';

/** Who a request acts as. With no dashboard_users configured (loopback only), an anonymous admin of every site. */
export interface Principal {
  user: string;
  role: DashboardRole;
  /** undefined: every site; else exactly these sites (exact match, never a prefix). */
  sites: ReadonlySet<string> | undefined;
  /** How the request proved it: a session cookie (then a CSRF token guards its state changes), a bearer token, or nothing (no users configured). */
  via: 'session' | 'token' | 'open';
}

/** What a route handler gets. */
export interface ApiContext {
  principal: Principal;
  /** The bench's config as of now (edits are seen within a second). */
  bench(): BenchConfig;
  client: BenchClient;
  redis: Redis;
  log: Logger;
  /** The request's query string, parsed. */
  query: URLSearchParams;
  /** Path parameters of the route (e.g. {queue: 'default'}), decoded. */
  params: Readonly<Record<string, string>>;
  /** The JSON body of a POST (undefined for GET, or an empty body). */
  body: unknown;
}

/** A handler's answer: a JSON value (status 200). */
export type Handler = (ctx: ApiContext) => Promise<unknown>;

/** Thrown by handlers and guards: answered as {error: {code, message}} with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Can `principal` see jobs of `site`? */
export function seesSite(principal: Principal, site: string): boolean {
  return principal.sites === undefined || principal.sites.has(site);
}

/** Refuse unless `principal` may act (admin). */
export function requireAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new HttpError(403, 'ERR_FORBIDDEN', `user "${principal.user}" is a viewer: it may look, not act`);
}

/** Refuse unless `principal` may see `site` (a 404, so that other sites' jobs are not even confirmed to exist). */
export function requireSite(principal: Principal, site: string): void {
  if (!seesSite(principal, site)) throw new HttpError(404, 'ERR_JOB_NOT_FOUND', 'no such job');
}
