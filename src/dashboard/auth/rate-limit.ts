// Login throttling: at most `maxFailures` failed attempts per key (a user name, a remote address) within
// a sliding `windowMs`; then the key is refused until its oldest failure leaves the window. An attempt
// counts as a failure from the moment it starts (recordAttempt, before the slow password check), so
// that a burst of concurrent attempts cannot all pass the check; a success clears the keys (reset).
// Memory is bounded: at most `maxKeys` keys are remembered, the oldest dropped first.

export interface RateLimitOptions {
  maxFailures?: number;
  windowMs?: number;
  maxKeys?: number;
  now?: () => number;
}

export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_MS = 15 * 60_000;

export class LoginRateLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  /** key -> times (ms) of its failures within the window, oldest first. */
  private readonly failures = new Map<string, number[]>();

  constructor(options: RateLimitOptions = {}) {
    this.maxFailures = options.maxFailures ?? LOGIN_MAX_FAILURES;
    this.windowMs = options.windowMs ?? LOGIN_WINDOW_MS;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds until every key may try again: 0 when none of them is blocked. */
  blockedFor(keys: readonly string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const times = this.recent(key, now);
      if (times.length >= this.maxFailures) wait = Math.max(wait, (times[times.length - this.maxFailures] as number) + this.windowMs - now);
    }
    return wait;
  }

  /** Count an attempt against every key (undone by reset when it succeeds). */
  recordAttempt(keys: readonly string[]): void {
    const now = this.now();
    for (const key of keys) {
      const times = this.recent(key, now);
      times.push(now);
      // Re-inserted: the Map's order is then least recently failed first, the order of eviction.
      this.failures.delete(key);
      this.failures.set(key, times.slice(-this.maxFailures));
    }
    this.evict();
  }

  reset(keys: readonly string[]): void {
    for (const key of keys) this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((time) => time > now - this.windowMs);
  }

  /** Forget the least recently failed keys beyond maxKeys. */
  private evict(): void {
    for (const key of this.failures.keys()) {
      if (this.failures.size <= this.maxKeys) return;
      this.failures.delete(key);
    }
  }
}
