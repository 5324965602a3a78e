// The worker's side of the Redis protocol, as typed calls: claim, renew leases, finish, release,
// reap, and the blocking wait for new work. Only this module knows the worker scripts' KEYS/ARGV order.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { queueKeys, type QueueKeys } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';
import { pairsToObject } from '../queue/job.js';

export interface ClaimedJob {
  queue: string;
  id: string;
  token: string;
  /** The job hash as claimed (fields of queue/job.ts). */
  fields: Record<string, string>;
}

export type FinishOutcome = 'finished' | 'failed' | 'stopped';

/** 1 done, 2 scheduled for a retry, 0 replay of a done call, -1 lease lost, -2 job gone. */
export type FinishCode = 2 | 1 | 0 | -1 | -2;

export type ReleaseMode = 'crash' | 'blameless' | 'unstarted';
const RELEASE_MODES: Record<ReleaseMode, string> = { crash: '1', blameless: '0', unstarted: 'u' };

export class Broker {
  private readonly keysByQueue = new Map<string, QueueKeys>();

  constructor(
    private readonly redis: Redis,
    private readonly benchId: string,
    private readonly workerName: string,
  ) {}

  keys(queue: string): QueueKeys {
    let keys = this.keysByQueue.get(queue);
    if (!keys) {
      keys = queueKeys(this.benchId, queue);
      this.keysByQueue.set(queue, keys);
    }
    return keys;
  }

  /**
   * Claim up to `count` jobs from `queues`, highest priority first (promoting scheduled jobs that
   * are due). `nextScheduledMs` says when the next scheduled job falls due (-1: none).
   */
  async claim(queues: readonly string[], count: number, leaseMs: number): Promise<{ jobs: ClaimedJob[]; nextScheduledMs: number }> {
    const keys: string[] = [];
    const prefixes: string[] = [];
    for (const queue of queues) {
      const k = this.keys(queue);
      keys.push(k.wait, k.active, k.marker, k.delayed);
      prefixes.push(k.prefix);
    }
    const [nextScheduledMs, ...claimed] = (await runScript(this.redis, 'claim', keys, [count, leaseMs, this.workerName, randomUUID(), ...prefixes])) as [
      number,
      ...[number, string, string, string[]][],
    ];
    const jobs = claimed.map(([queueIndex, id, token, pairs]) => ({
      queue: queues[queueIndex - 1] as string,
      id,
      token,
      fields: pairsToObject(pairs),
    }));
    return { jobs, nextScheduledMs };
  }

  /** Renew leases; returns the ids whose lease was lost. */
  async extendLeases(queue: string, jobs: readonly { id: string; token: string }[], leaseMs: number): Promise<string[]> {
    if (jobs.length === 0) return [];
    const k = this.keys(queue);
    const args: (string | number)[] = [leaseMs, k.prefix];
    for (const job of jobs) args.push(job.id, job.token);
    return (await runScript(this.redis, 'extendLeases', [k.active], args)) as string[];
  }

  /** End a running job. With `retry`, a failure is scheduled again after `retry.delayMs`. */
  async finish(
    job: { queue: string; id: string; token: string },
    outcome: FinishOutcome,
    payload: string,
    ttlSeconds: number,
    failedLimit: number,
    retry?: { delayMs: number; history: string },
  ): Promise<FinishCode> {
    const k = this.keys(job.queue);
    return (await runScript(this.redis, 'finish', [k.active, k.finished, k.failed, k.delayed], [
      k.prefix, job.id, job.token, outcome, payload, ttlSeconds, failedLimit, retry?.delayMs ?? 0, retry?.history ?? '',
    ])) as FinishCode;
  }

  /**
   * Hand a running job back to the front of its queue: `crash` counts a crash (past maxStalls the
   * job fails as abandoned), `blameless` counts nothing, `unstarted` also takes back the claim's
   * attempt. 1 requeued, 0 failed as abandoned, -1 lease lost.
   */
  async release(job: { queue: string; id: string; token: string }, mode: ReleaseMode, maxStalls: number, reason: string, failedLimit: number): Promise<number> {
    const k = this.keys(job.queue);
    return (await runScript(this.redis, 'release', [k.active, k.wait, k.marker, k.failed], [
      k.prefix, job.id, job.token, RELEASE_MODES[mode], maxStalls, reason, failedLimit,
    ])) as number;
  }

  /** Requeue jobs with expired leases, unless another worker's reaper holds the lock. */
  async reap(queue: string, lockMs: number, maxStalls: number, failedLimit: number, batch = 100): Promise<{ requeued: number; abandoned: number } | null> {
    const k = this.keys(queue);
    const reply = await runScript(this.redis, 'reap', [k.active, k.wait, k.marker, k.failed, k.reaperLock], [
      k.prefix, this.workerName, lockMs, maxStalls, batch, failedLimit,
    ]);
    if (!Array.isArray(reply)) return null;
    return { requeued: Number(reply[0]), abandoned: Number(reply[1]) };
  }

  /** Block on `client` (a dedicated connection) until a marker of one of `queues` is set, or timeout. */
  async waitForWork(client: Redis, queues: readonly string[], timeoutSeconds: number): Promise<boolean> {
    // BZPOPMIN takes fractional seconds; 0 would mean forever.
    const markers = queues.map((q) => this.keys(q).marker);
    const reply = await client.bzpopmin(...markers, timeoutSeconds);
    return reply !== null;
  }
}
