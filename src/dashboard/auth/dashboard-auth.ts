// Who a dashboard request acts as, and the guards around it. The server calls, per request:
//
//   const auth = new DashboardAuth({ bench: () => currentBenchConfig, log });
//   auth.usersConfigured(): boolean          // false: the dashboard is open (and must stay on loopback)
//   auth.requirePrincipal(req): Principal    // else throws HttpError 401 ERR_UNAUTHORIZED (or 403 ERR_FORBIDDEN:
//                                            //   an open dashboard asked by a name that is not loopback)
//   auth.authenticate(req): Principal | undefined   // the same without throwing
//   auth.checkCsrf(req, principal): void     // before every request; passes GET/HEAD/OPTIONS; else throws
//                                            //   HttpError 403 ERR_CSRF unless the request may change state
//   await auth.login(req, res, body): LoginResult   // POST /api/login {user, password}: sets the cookie;
//                                            //   401 ERR_UNAUTHORIZED, 429 ERR_RATE_LIMITED (+ Retry-After on res),
//                                            //   400 ERR_BAD_REQUEST, 409 ERR_NO_USERS, 403 ERR_CSRF (cross-site)
//   auth.logout(req, res): void              // POST /api/logout (after checkCsrf): ends the session, clears the cookie
//   auth.whoami(req, principal): WhoAmI      // GET /api/me: user, role, sites, via, csrfToken of a session
//
// Proof, in this order: no users configured -> the open admin principal (via 'open'), but only for
// requests from a loopback address to a loopback name (should users be removed from the config of a
// dashboard bound elsewhere, the rest of the network still gets nothing); `Authorization: Bearer bwd_…` -> that token's user (via 'token';
// a present but wrong Authorization header is no proof, even with a cookie); the bw_session cookie ->
// its user (via 'session'). Role and sites are read from the config at each request, so an edit applies
// at once; a session dies when its user's password hash changes or the user is removed. CSRF: a
// session's state change must carry its token in X-CSRF-Token; any state change that a browser sent
// from another origin (Origin / Sec-Fetch-Site) is refused, tokens excepted (a browser never adds them).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { BenchConfig } from '../../config/load.js';
import type { Logger } from '../../log/logger.js';
import { HttpError, type DashboardRole, type Principal } from '../types.js';
import { findTokenUser } from './api-token.js';
import { readCookie, sessionCookie, SESSION_COOKIE } from './cookies.js';
import { DEFAULT_SCRYPT, hashPassword, MAX_PASSWORD_LENGTH, passwordFingerprint, verifyPassword, type ScryptParams } from './password.js';
import { LoginRateLimiter, type RateLimitOptions } from './rate-limit.js';
import { localAndAddressedToLoopback, assertSameOrigin, remoteAddress } from './request-origin.js';
import { SessionStore, type Session, type SessionOptions } from './sessions.js';
import { dashboardUsers, findUser, OPEN_PRINCIPAL, principalOf, sitesShown, type DashboardUsers } from './users.js';

export interface DashboardAuthOptions {
  /** The bench's config as of now (dashboard_users is read from it at every request). */
  bench: () => BenchConfig;
  log: Logger;
  now?: () => number;
  sessions?: Omit<SessionOptions, 'now'>;
  rateLimit?: Omit<RateLimitOptions, 'now'>;
  /** Cost of the stand-in hash an unknown user's password is checked against (default: DEFAULT_SCRYPT). */
  scrypt?: ScryptParams;
}

export interface LoginResult {
  user: string;
  role: DashboardRole;
  /** As configured: ["*"] for every site. */
  sites: string[];
  /** To send as X-CSRF-Token with every state change of this session. */
  csrfToken: string;
}

export interface WhoAmI {
  user: string;
  role: DashboardRole;
  sites: string[];
  via: Principal['via'];
  /** Only for a session. */
  csrfToken?: string;
}

/** 429: too many failed logins; the server sends Retry-After (login also sets it on the response). */
export class RateLimitedError extends HttpError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, 'ERR_RATE_LIMITED', `too many failed logins: try again in ${retryAfterSeconds} s`);
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class DashboardAuth {
  private readonly sessions: SessionStore;
  private readonly limiter: LoginRateLimiter;
  private readonly options: DashboardAuthOptions;
  /** What an unknown user's password is checked against, made up front so that the first such login costs no more. */
  private readonly standInHash: Promise<string>;

  constructor(options: DashboardAuthOptions) {
    this.options = options;
    const now = options.now ?? Date.now;
    this.sessions = new SessionStore({ ...options.sessions, now });
    this.limiter = new LoginRateLimiter({ ...options.rateLimit, now });
    this.standInHash = hashPassword(randomBytes(16).toString('hex'), options.scrypt ?? DEFAULT_SCRYPT);
  }

  private users(): DashboardUsers {
    return dashboardUsers(this.options.bench());
  }

  /** True once dashboard_users holds any user: from then on every request needs a session or a token. */
  usersConfigured(): boolean {
    return Object.keys(this.users()).length > 0;
  }

  authenticate(req: IncomingMessage): Principal | undefined {
    const users = this.users();
    if (Object.keys(users).length === 0) return localAndAddressedToLoopback(req) ? OPEN_PRINCIPAL : undefined;
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const bearer = /^Bearer +(\S+) *$/i.exec(authorization);
      const name = bearer === null ? undefined : findTokenUser(users, bearer[1] as string);
      const user = name === undefined ? undefined : findUser(users, name);
      return name === undefined || user === undefined ? undefined : principalOf(name, user, 'token');
    }
    const session = this.liveSession(req, users, true);
    const user = session === undefined ? undefined : findUser(users, session.user);
    return session === undefined || user === undefined ? undefined : principalOf(session.user, user, 'session');
  }

  requirePrincipal(req: IncomingMessage): Principal {
    const principal = this.authenticate(req);
    if (principal !== undefined) return principal;
    if (!this.usersConfigured()) {
      throw new HttpError(403, 'ERR_FORBIDDEN', 'this dashboard has no users (bench dashboard set-password): it answers only requests from this machine to localhost, 127.0.0.1 or [::1]');
    }
    throw new HttpError(401, 'ERR_UNAUTHORIZED', 'log in, or send Authorization: Bearer <token> (bench dashboard token)');
  }

  checkCsrf(req: IncomingMessage, principal: Principal): void {
    if (SAFE_METHODS.has(req.method ?? 'GET') || principal.via === 'token') return;
    assertSameOrigin(req);
    if (principal.via !== 'session') return;
    const session = this.liveSession(req, this.users(), false);
    const sent = req.headers['x-csrf-token'];
    if (session === undefined || typeof sent !== 'string' || !sameSecret(sent, session.csrfToken)) {
      throw new HttpError(403, 'ERR_CSRF', 'missing or wrong X-CSRF-Token: reload the page');
    }
  }

  async login(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<LoginResult> {
    const { log } = this.options;
    const users = this.users();
    if (Object.keys(users).length === 0) throw new HttpError(409, 'ERR_NO_USERS', 'this dashboard has no users: there is nobody to log in as (bench dashboard set-password)');
    assertSameOrigin(req);
    const { user: name, password } = loginBody(body);
    const remote = remoteAddress(req);
    const keys = [`user:${name}`, `address:${remote}`];
    const waitMs = this.limiter.blockedFor(keys);
    if (waitMs > 0) {
      const retryAfterSeconds = Math.ceil(waitMs / 1000);
      res.setHeader('Retry-After', String(retryAfterSeconds));
      log.warn({ user: name, remote, retryAfterSeconds }, 'dashboard login refused: too many failures');
      throw new RateLimitedError(retryAfterSeconds);
    }
    this.limiter.recordAttempt(keys);
    const user = findUser(users, name);
    const stored = user?.password;
    // An unknown user (or one without a password) costs the same scrypt as a known one.
    const matches = await verifyPassword(password, stored ?? (await this.standInHash));
    if (!matches || user === undefined || stored === undefined) {
      log.warn({ user: name, remote }, 'dashboard login failed');
      throw new HttpError(401, 'ERR_UNAUTHORIZED', 'wrong user name or password');
    }
    this.limiter.reset(keys);
    const previous = readCookie(req, SESSION_COOKIE);
    if (previous !== undefined) this.sessions.delete(previous);
    const session = this.sessions.create(name, passwordFingerprint(stored));
    res.appendHeader('Set-Cookie', sessionCookie(req, session.id, this.sessions.maxAgeMs / 1000));
    log.info({ user: name, role: user.role, remote }, 'dashboard login');
    return { user: name, role: user.role, sites: [...user.sites], csrfToken: session.csrfToken };
  }

  logout(req: IncomingMessage, res: ServerResponse): void {
    const id = readCookie(req, SESSION_COOKIE);
    const session = id === undefined ? undefined : this.sessions.peek(id);
    if (id !== undefined) this.sessions.delete(id);
    res.appendHeader('Set-Cookie', sessionCookie(req, '', 0));
    if (session !== undefined) this.options.log.info({ user: session.user, remote: remoteAddress(req) }, 'dashboard logout');
  }

  whoami(req: IncomingMessage, principal: Principal): WhoAmI {
    const me: WhoAmI = { user: principal.user, role: principal.role, sites: sitesShown(principal), via: principal.via };
    if (principal.via === 'session') {
      const session = this.liveSession(req, this.users(), false);
      if (session !== undefined) me.csrfToken = session.csrfToken;
    }
    return me;
  }

  /** The request's session if it is alive and its user's password is the one it logged in with. */
  private liveSession(req: IncomingMessage, users: DashboardUsers, touch: boolean): Session | undefined {
    const id = readCookie(req, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = touch ? this.sessions.use(id) : this.sessions.peek(id);
    if (session === undefined) return undefined;
    const stored = findUser(users, session.user)?.password;
    if (stored === undefined || passwordFingerprint(stored) !== session.fingerprint) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }
}

function sameSecret(sent: string, expected: string): boolean {
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function loginBody(body: unknown): { user: string; password: string } {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const { user, password } = fields;
  if (typeof user !== 'string' || user === '' || user.length > 64 || typeof password !== 'string' || password === '' || password.length > MAX_PASSWORD_LENGTH) {
    throw new HttpError(400, 'ERR_BAD_REQUEST', `expected a JSON body {"user": "<name>", "password": "<password>"} (a password of at most ${MAX_PASSWORD_LENGTH} characters)`);
  }
  return { user, password };
}
