// GET /api/overview: every queue of the bench in priority order, with its jobs by state (counts.ts says
// what each costs and when one is null), its latency (how long the job that has waited longest at the
// head of a list has been due), the live workers listening to it, whether jobs wait with no worker to
// take them, and whether it is paused. A site-limited principal sees the counts and latency of its own
// sites' jobs only, and every worker (workers serve every site).
import type { Redis } from '../../redis/client-type.js';
import { queueKeys, WAIT_HOLE } from '../../redis/keys.js';
import { siteOf } from '../../redis/job-record.js';
import { execAll } from '../../monitor/jobs.js';
import { getWorkers } from '../../monitor/workers.js';
import { pausedQueues } from '../../monitor/pause.js';
import type { ApiContext } from '../types.js';
import { seesSite } from '../types.js';
import { countsOf, NOT_COUNTED, siteTallies, totalCounts, uncountedStates, type CountState, type StateCounts } from './counts.js';
import { queueNames, redisNow } from './params.js';

export interface QueueOverview {
  queue: string;
  counts: StateCounts;
  /** States whose count is null because counting them for a site-limited principal would read too many ids. */
  uncounted: CountState[];
  /** Ms since the longest-waiting job at the head of the queue's lists was due (0 when none waits). */
  latencyMs: number;
  /** Live workers listening to the queue. */
  workers: number;
  /** Jobs wait and no live worker listens. */
  unserved: boolean;
  /** Paused: workers claim nothing from it. */
  paused: boolean;
}

export interface OverviewPayload {
  /** When the counts were read (Redis clock, epoch ms). */
  at: number;
  /** The principal sees only some sites: counts and latency are of those sites' jobs. */
  restricted: boolean;
  notCounted: typeof NOT_COUNTED;
  queues: QueueOverview[];
}

/** Ids read from the head of each list to get past holes (removed ids) to a job. */
const HEAD_PEEK = 16;

export async function overview(ctx: ApiContext): Promise<OverviewPayload> {
  const bench = ctx.bench();
  const benchId = bench.settings.bench_id;
  const { principal, redis } = ctx;
  const restricted = principal.sites !== undefined;
  const sees = (site: string): boolean => seesSite(principal, site);
  const now = await redisNow(redis);
  const names = queueNames(bench);
  const [workers, paused, latencies, counts] = await Promise.all([
    getWorkers(redis, benchId),
    pausedQueues(redis, bench),
    Promise.all(names.map((queue) => queueLatencyMs(redis, benchId, queue, now, restricted ? sees : undefined))),
    Promise.all(names.map(async (queue) => (restricted ? countsOf(await siteTallies(redis, benchId, queue, now), sees) : totalCounts(redis, benchId, queue, now)))),
  ]);
  const queues = names.map((queue, i): QueueOverview => {
    const queueCounts = counts[i] as StateCounts;
    const listening = workers.filter((w) => w.queues.includes(queue)).length;
    return {
      queue,
      counts: queueCounts,
      uncounted: uncountedStates(queueCounts),
      latencyMs: latencies[i] ?? 0,
      workers: listening,
      unserved: (queueCounts.queued ?? 0) > 0 && listening === 0,
      paused: paused.includes(queue),
    };
  });
  return { at: now, restricted, notCounted: NOT_COUNTED, queues };
}

/**
 * How long (ms, at `now` by the Redis clock) the longest-waiting job at the head of one of the queue's
 * lists has been due: each list's head is the next job of its site (the legacy wait list, served first,
 * and one lane per site), so this is the age of the oldest job next in line, Sidekiq's queue latency.
 * A job is due from its enqueue time, or from its run-at time when it was scheduled (enqueueIn, a retry).
 * With `sees`, only the lanes of the sites it accepts, and the legacy list's head when it is one of theirs.
 */
export async function queueLatencyMs(redis: Redis, benchId: string, queue: string, now: number, sees?: (site: string) => boolean): Promise<number> {
  const keys = queueKeys(benchId, queue);
  const ring = await redis.lrange(keys.sites, 0, -1);
  const lists = [keys.wait, ...ring.filter((site) => !sees || sees(site)).map((site) => keys.lane(site))];
  const peek = redis.pipeline();
  for (const list of lists) peek.lrange(list, 0, HEAD_PEEK - 1);
  const heads: string[] = [];
  for (const ids of (await execAll(peek)) as string[][]) {
    const head = ids.find((id) => id !== WAIT_HOLE);
    if (head !== undefined && (!sees || sees(siteOf(head)))) heads.push(head);
  }
  if (heads.length === 0) return 0;
  const times = redis.pipeline();
  for (const id of heads) times.hmget(keys.job(id), 'enq', 'created', 'runAt');
  let oldest = Number.POSITIVE_INFINITY;
  for (const [enq, created, runAt] of (await execAll(times)) as (string | null)[][]) {
    const enqueued = Number(enq ?? created ?? Number.NaN);
    if (!Number.isFinite(enqueued)) continue;
    const due = Math.max(enqueued, Number(runAt ?? 0) || 0);
    oldest = Math.min(oldest, due);
  }
  return Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0;
}
