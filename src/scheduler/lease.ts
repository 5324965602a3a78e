// The scheduler lease: exactly one `bench schedule` per bench ticks, across machines. A Redis key
// taken with SET NX PX and renewed or released only by its holder (lua/schedulerLease-1.lua), with a
// random token per holder. Fencing: the holder trusts its lease only until a local monotonic deadline
// (the time it sent the last successful acquire or renew, plus the TTL, less a margin), so a process
// that was paused or cut off past that deadline never ticks until it has acquired the lease again,
// whatever its timers do when it resumes.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Redis } from '../redis/client-type.js';
import { ScriptCode } from '../redis/codes.js';
import { benchKeys } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';

/** Who holds the lease, as stored in its key (and shown by doctor and `scheduler status`). */
export interface LeaseHolder {
  token: string;
  host: string;
  pid: number;
  /** Epoch ms at which this holder started. */
  since: number;
}

export interface LeaseOptions {
  ttlMs: number;
  /** Monotonic clock in ms (default performance.now): only differences are used. */
  monotonic?: () => number;
  host?: string;
  pid?: number;
}

/** Renew (or try to acquire) every this long: a quarter of the TTL, at most 1 s. */
export function leaseIntervalMs(ttlMs: number): number {
  return Math.min(1000, Math.max(50, Math.floor(ttlMs / 4)));
}

export class SchedulerLease {
  readonly holder: LeaseHolder;
  private readonly value: string;
  private readonly key: string;
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private readonly monotonic: () => number;
  /** Monotonic ms until which the lease is provably ours; -Infinity when not held. */
  private validUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly redis: Redis,
    benchId: string,
    options: LeaseOptions,
  ) {
    this.holder = {
      token: randomBytes(12).toString('base64url'),
      host: options.host ?? os.hostname(),
      pid: options.pid ?? process.pid,
      since: Date.now(),
    };
    this.value = JSON.stringify(this.holder);
    this.key = benchKeys(benchId).schedulerLease;
    this.ttlMs = options.ttlMs;
    this.marginMs = Math.max(leaseIntervalMs(options.ttlMs), Math.floor(options.ttlMs / 4));
    this.monotonic = options.monotonic ?? (() => performance.now());
  }

  /** True while the lease is provably held: the last acquire or renew was sent less than TTL - margin ago. */
  held(): boolean {
    return this.monotonic() < this.validUntil;
  }

  /** Take the lease if it is free (or already ours); true when held after the call. */
  acquire(): Promise<boolean> {
    return this.call('acquire');
  }

  /** Extend the lease; false (and no longer held) when it was lost. */
  renew(): Promise<boolean> {
    return this.call('renew');
  }

  /** Give the lease up (a stopping scheduler), so that a waiting one takes over at once. */
  async release(): Promise<void> {
    this.validUntil = Number.NEGATIVE_INFINITY;
    await runScript(this.redis, 'schedulerLease', [this.key], ['release', this.value, this.ttlMs]);
  }

  /** Forget the lease locally (a failed renewal: never tick on a lease that may be gone). */
  drop(): void {
    this.validUntil = Number.NEGATIVE_INFINITY;
  }

  private async call(mode: 'acquire' | 'renew'): Promise<boolean> {
    const sentAt = this.monotonic();
    const reply = await runScript(this.redis, 'schedulerLease', [this.key], [mode, this.value, this.ttlMs]);
    if (Number(reply) === ScriptCode.OK) {
      this.validUntil = sentAt + this.ttlMs - this.marginMs;
      return true;
    }
    this.validUntil = Number.NEGATIVE_INFINITY;
    return false;
  }
}

/** The current holder of the bench's lease, if any (doctor, `scheduler status`). */
export async function leaseHolder(redis: Redis, benchId: string): Promise<LeaseHolder | undefined> {
  const raw = await redis.get(benchKeys(benchId).schedulerLease);
  if (raw === null) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<LeaseHolder>;
    return { token: String(parsed.token ?? ''), host: String(parsed.host ?? ''), pid: Number(parsed.pid ?? 0), since: Number(parsed.since ?? 0) };
  } catch {
    return undefined;
  }
}
