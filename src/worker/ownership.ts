// A supervisor's side of the Redis protocol, as typed calls: the liveness stamps of its worker processes
// (register, renew), the reaper that hands back the jobs of dead worker processes of any supervisor,
// and the post-mortem of one of its own: which jobs it held, and their hand-back. Only this module knows
// these scripts' KEYS/ARGV order.
import { queueTimeout, type QueueSpec } from '../config/load.js';
import type { Redis } from '../redis/client-type.js';
import { DEFAULTS } from '../config/schema.js';
import { jobFromHash } from '../redis/job-record.js';
import type { JobRecord } from '../vocabulary.js';
import { ScriptCode } from '../redis/codes.js';
import { queueKeys, type QueueKeys } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';

/** Running jobs a reaper run looks at, at most, per queue. */
const REAP_SCAN_LIMIT = 10_000;

export class Ownership {
  constructor(
    private readonly redis: Redis,
    private readonly benchId: string,
    /** Name of the supervisor (holder of the reaper lock). */
    private readonly supervisor: string,
    private readonly failedLimit: number,
    /** Seconds an abandoned job's record is kept when its hash has no fttl of its own (rq_job_failure_ttl). */
    private readonly failureTtl: number = DEFAULTS.rq_job_failure_ttl,
    /** The bench's queues, for their default timeouts (a hash without `timeout` runs with its queue's). */
    private readonly queues: readonly QueueSpec[] = [],
  ) {}

  keys(queue: string): QueueKeys {
    return queueKeys(this.benchId, queue);
  }

  /** Give new worker processes a liveness stamp of `stampMs` in `queue`. */
  async register(queue: string, names: readonly string[], stampMs: number): Promise<void> {
    if (names.length === 0) return;
    await runScript(this.redis, 'keepOwners', [this.keys(queue).owners], [stampMs, 'register', ...names]);
  }

  /** Renew their stamps; resolves to the names whose stamp had lapsed (those may claim nothing more). */
  async renew(queue: string, names: readonly string[], stampMs: number): Promise<string[]> {
    if (names.length === 0) return [];
    return (await runScript(this.redis, 'keepOwners', [this.keys(queue).owners], [stampMs, 'renew', ...names])) as string[];
  }

  /**
   * Hand back the jobs of dead worker processes (and drop expired finished entries), unless another
   * supervisor's reaper holds the lock.
   */
  async reap(queue: string, lockMs: number, maxStalls: number): Promise<{ requeued: number; abandoned: number } | null> {
    const k = this.keys(queue);
    const reply = await runScript(this.redis, 'reap', [k.active, k.wait, k.marker, k.failed, k.reaperLock, k.owners, k.finished], [
      k.prefix, this.supervisor, lockMs, maxStalls, this.failedLimit, REAP_SCAN_LIMIT, this.failureTtl,
    ]);
    if (reply === ScriptCode.LOCKED || !Array.isArray(reply)) return null;
    return { requeued: Number(reply[0]), abandoned: Number(reply[1]) };
  }

  /** The running jobs of worker process `owner` in `queue`, with their claim tokens. */
  ownedJobs(queue: string, owner: string): Promise<{ id: string; token: string }[]> {
    return ownedJobsOf(this.redis, this.keys(queue), owner);
  }

  /** Which worker process runs a job, and its claim token (undefined when it does not run). */
  async jobOwner(queue: string, id: string): Promise<{ worker: string; token: string } | undefined> {
    const [worker, token, status] = await this.redis.hmget(this.keys(queue).job(id), 'worker', 'token', 'status');
    return worker && token && status === 'started' ? { worker, token } : undefined;
  }

  /** A job's record, if it still exists. */
  async readJob(queue: string, id: string): Promise<JobRecord | undefined> {
    const hash = await this.redis.hgetall(this.keys(queue).job(id));
    if (Object.keys(hash).length === 0) return undefined;
    return jobFromHash(id, queueTimeout({ queues: this.queues }, queue), hash);
  }

  /**
   * Hand back every job worker process `owner` still holds in `queue` and drop its stamp. With `crash`,
   * each hand-back counts a crash (past maxStalls the job fails as abandoned: their ids are returned).
   */
  async releaseOwner(queue: string, owner: string, crash: boolean, maxStalls: number, reason: string): Promise<{ requeued: number; abandoned: string[] }> {
    const k = this.keys(queue);
    const reply = (await runScript(this.redis, 'releaseOwner', [k.active, k.wait, k.marker, k.failed, k.owners], [
      k.prefix, owner, crash ? '1' : '0', maxStalls, reason, this.failedLimit, this.failureTtl,
    ])) as [number, string[]];
    return { requeued: Number(reply[0]), abandoned: reply[1] };
  }
}

/** The running jobs of worker process `owner` in the queue of `k`, with their claim tokens (ownedJobs-1.lua). */
export async function ownedJobsOf(redis: Redis, k: QueueKeys, owner: string): Promise<{ id: string; token: string }[]> {
  const flat = (await runScript(redis, 'ownedJobs', [k.active], [k.prefix, owner])) as string[];
  const jobs: { id: string; token: string }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) jobs.push({ id: flat[i] as string, token: flat[i + 1] as string });
  return jobs;
}
