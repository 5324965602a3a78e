// Pausing a queue: while its `paused` key exists (value "1"), workers claim nothing from it (fetch.lua
// passes it over and, when nothing else is claimable, blocks as on an empty queue). Everything else goes
// on: enqueues, the ends of running jobs, the promotion of due scheduled jobs. A resume deletes the key
// and sets the queue's wake-up marker, so that a worker blocked on the queue's marker looks at once.
// Each change is logged with who made it (`by`: the CLI gives the OS user, the dashboard its user).
import type { Redis } from '../redis/client-type.js';
import { getQueueSpec, type BenchConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { queueKeys } from '../redis/keys.js';
import { crossSlotPipeline } from '../redis/cross-slot.js';
import { execAll } from './jobs.js';

export interface PauseContext {
  redis: Redis;
  bench: BenchConfig;
  log?: Logger | undefined;
}

/** What a pause or resume did. */
export interface PauseChange {
  queue: string;
  /** Whether the queue is paused now. */
  paused: boolean;
  /** False when it already was in that state (nothing changed). */
  changed: boolean;
}

/** Stop workers claiming from `queue` (one of the bench's queues, else ERR_QUEUE_UNKNOWN). */
export async function pauseQueue(ctx: PauseContext, queue: string, by?: string): Promise<PauseChange> {
  const k = queueKeys(ctx.bench.settings.bench_id, getQueueSpec(ctx.bench, queue).name);
  const changed = (await ctx.redis.set(k.paused, '1', 'NX')) === 'OK';
  ctx.log?.info({ queue, by: by ?? null, changed }, changed ? 'queue paused' : 'queue pause asked; it was paused already');
  return { queue, paused: true, changed };
}

/** Let workers claim from `queue` again, waking one blocked on it (which wakes the next while work remains). */
export async function resumeQueue(ctx: PauseContext, queue: string, by?: string): Promise<PauseChange> {
  const k = queueKeys(ctx.bench.settings.bench_id, getQueueSpec(ctx.bench, queue).name);
  // One slot (the queue's hash tag): a transaction on a Cluster too.
  const replies = await ctx.redis.multi().del(k.paused).zadd(k.marker, 0, '0').exec();
  const changed = Number(replies?.[0]?.[1]) === 1;
  ctx.log?.info({ queue, by: by ?? null, changed }, changed ? 'queue resumed' : 'queue resume asked; it was not paused');
  return { queue, paused: false, changed };
}

/** Whether `queue` of bench `benchId` is paused. */
export async function isQueuePaused(redis: Redis, benchId: string, queue: string): Promise<boolean> {
  return (await redis.exists(queueKeys(benchId, queue).paused)) === 1;
}

/** The paused ones of the bench's queues, in the bench's queue order. */
export async function pausedQueues(redis: Redis, bench: BenchConfig): Promise<string[]> {
  const pipeline = crossSlotPipeline(redis);
  for (const { name } of bench.queues) pipeline.exists(queueKeys(bench.settings.bench_id, name).paused);
  const replies = await execAll(pipeline);
  return bench.queues.filter((_, i) => Number(replies[i]) === 1).map((q) => q.name);
}
