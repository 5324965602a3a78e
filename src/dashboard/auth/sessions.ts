// Dashboard login sessions, in memory (a restart of the dashboard logs everyone out): a random 32-byte
// id (the cookie's value), the user, the fingerprint of the password hash it logged in with, and the
// CSRF token its state changes must carry. A session ends after `idleMs` without a request and, used or
// not, `maxAgeMs` after login. At most `maxSessions` are kept (the oldest logins go first).
import { randomBytes } from 'node:crypto';

export interface Session {
  readonly id: string;
  readonly user: string;
  /** passwordFingerprint() of the user's hash at login: a session of an older password is dead. */
  readonly fingerprint: string;
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeenAt: number;
}

export interface SessionOptions {
  idleMs?: number;
  maxAgeMs?: number;
  maxSessions?: number;
  now?: () => number;
}

export const SESSION_IDLE_MS = 12 * 3600_000;
export const SESSION_MAX_AGE_MS = 24 * 3600_000;

export class SessionStore {
  readonly idleMs: number;
  readonly maxAgeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  /** Insertion order = login order: the first ones are evicted first. */
  private readonly sessions = new Map<string, Session>();

  constructor(options: SessionOptions = {}) {
    this.idleMs = options.idleMs ?? SESSION_IDLE_MS;
    this.maxAgeMs = options.maxAgeMs ?? SESSION_MAX_AGE_MS;
    this.maxSessions = options.maxSessions ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  create(user: string, fingerprint: string): Session {
    const now = this.now();
    this.sweep(now);
    const session: Session = { id: randomBytes(32).toString('base64url'), user, fingerprint, csrfToken: randomBytes(32).toString('base64url'), createdAt: now, lastSeenAt: now };
    this.sessions.set(session.id, session);
    for (const id of this.sessions.keys()) {
      if (this.sessions.size <= this.maxSessions) break;
      this.sessions.delete(id);
    }
    return session;
  }

  /** The live session `id`, marked as used now; undefined (and forgotten) when unknown or expired. */
  use(id: string): Session | undefined {
    const session = this.peek(id);
    if (session !== undefined) session.lastSeenAt = this.now();
    return session;
  }

  /** The live session `id` without marking it used. */
  peek(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    if (this.expired(session, this.now())) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private expired(session: Session, now: number): boolean {
    return now - session.lastSeenAt >= this.idleMs || now - session.createdAt >= this.maxAgeMs;
  }

  private sweep(now: number): void {
    for (const [id, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(id);
  }
}
