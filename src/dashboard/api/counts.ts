// How many jobs a queue holds in each state, for the overview, the sites page and /metrics, with reads
// whose cost is bounded whatever the queue's size.
//
// Every site (an unrestricted principal): from counters, O(1) or O(log n) each: queued = the lanes'
// counter + the legacy wait list's length (queue/lanes.ts pendingCount), started = ZCARD active,
// scheduled = ZCARD delayed, finished = ZCOUNT of the finished set's unexpired scores. Failed and stopped
// jobs share the failed set, which the claim script trims to rq_failed_jobs_limit (1,000 by default): its
// ids' statuses are read (HGET in pipelines) to tell them apart and to skip ids whose hash has expired.
//
// Per site (a site-limited principal, the sites page, /metrics with a `site` label): queued and started
// from site-load.ts (each lane's length, the active set's ids by site: what `bench doctor` shows);
// scheduled, finished, failed and stopped have no per-site counter, so the ids of the delayed, finished
// and failed sets are read window by window (monitor/scan.ts) and counted by site, but only while the
// structure holds at most SITE_COUNT_BOUND ids: past that the count is null and its state is listed in
// `uncounted`, rather than a read of 1,000,000 ids on every refresh of a page. The failed set is trimmed,
// so failed/stopped per site are normally exact; the finished set holds rq_results_ttl worth of jobs
// (600 s by default) and goes past the bound on a bench finishing more than ~30 jobs a second.
//
// Canceled jobs are in no list or set (lua/cancelJob-3.lua keeps only their hash, found by id): they are
// never counted (null, listed in NOT_COUNTED).
import type { Redis } from '../../redis/client-type.js';
import { queueKeys, type QueueKeys } from '../../redis/keys.js';
import { siteOf } from '../../redis/job-record.js';
import { crossSlotPipeline } from '../../redis/cross-slot.js';
import { pendingCount } from '../../queue/lanes.js';
import { execAll } from '../../monitor/jobs.js';
import { zsetWindows } from '../../monitor/scan.js';
import { queueLoad } from '../../monitor/site-load.js';

export const COUNT_STATES = ['queued', 'scheduled', 'started', 'finished', 'failed', 'stopped', 'canceled'] as const;
export type CountState = (typeof COUNT_STATES)[number];
/** A count per state; null when it is not known (see `uncounted`). */
export type StateCounts = Record<CountState, number | null>;

/** Most ids of one structure (delayed, finished or failed set) of one queue read to count it by site. */
export const SITE_COUNT_BOUND = 20_000;

/** States never counted, and why (shown by the UI next to the empty cell). */
export const NOT_COUNTED = { canceled: 'canceled jobs are kept (for the failure TTL) in no list or set: found by id only, never counted' } as const;

/** Ids of the failed set's HGET status read per pipeline. */
const STATUS_CHUNK = 1000;

/** The counts of one queue over every site, from its counters (failed/stopped from the trimmed failed set). */
export async function totalCounts(redis: Redis, benchId: string, queue: string, now: number): Promise<StateCounts> {
  const keys = queueKeys(benchId, queue);
  const counters = redis.pipeline().zcard(keys.active).zcard(keys.delayed).zcount(keys.finished, now, '+inf').zcard(keys.failed);
  const [queued, replies] = await Promise.all([pendingCount(redis, keys), execAll(counters)]);
  const [started, scheduled, finished, failedSize] = replies.map(Number) as [number, number, number, number];
  const split = await failedBySite(redis, keys);
  const sum = (bySite: Map<string, number> | undefined): number | null => (bySite ? [...bySite.values()].reduce((a, b) => a + b, 0) : null);
  return {
    queued,
    scheduled,
    started,
    finished,
    // Past the bound: every id of the failed set (stopped and expired ones included), stopped unknown.
    failed: split ? sum(split.failed) : failedSize,
    stopped: split ? sum(split.stopped) : null,
    canceled: null,
  };
}

/** One queue's jobs counted by site, per state; undefined for a state whose structure is past the bound. */
export interface SiteTallies {
  queue: string;
  queued: Map<string, number>;
  started: Map<string, number>;
  scheduled: Map<string, number> | undefined;
  finished: Map<string, number> | undefined;
  failed: Map<string, number> | undefined;
  stopped: Map<string, number> | undefined;
}

/** Count one queue's jobs by site (see the file header for what each state costs). */
export async function siteTallies(redis: Redis, benchId: string, queue: string, now: number): Promise<SiteTallies> {
  const keys = queueKeys(benchId, queue);
  const [load, scheduled, finished, failed] = await Promise.all([
    queueLoad(redis, benchId, queue),
    boundedIds(redis, keys.delayed),
    boundedIds(redis, keys.finished, now),
    failedBySite(redis, keys),
  ]);
  const queued = new Map<string, number>();
  const started = new Map<string, number>();
  for (const [site, siteLoad] of Object.entries(load.bySite)) {
    if (siteLoad.queued > 0) queued.set(site, siteLoad.queued);
    if (siteLoad.started > 0) started.set(site, siteLoad.started);
  }
  return { queue, queued, started, scheduled: scheduled && bySite(scheduled), finished: finished && bySite(finished), failed: failed?.failed, stopped: failed?.stopped };
}

/** The counts of the sites `sees` accepts, from one queue's tallies; null where a state was past the bound. */
export function countsOf(tallies: SiteTallies, sees: (site: string) => boolean): StateCounts {
  const sum = (map: Map<string, number> | undefined): number | null => {
    if (!map) return null;
    let n = 0;
    for (const [site, count] of map) if (sees(site)) n += count;
    return n;
  };
  return {
    queued: sum(tallies.queued),
    scheduled: sum(tallies.scheduled),
    started: sum(tallies.started),
    finished: sum(tallies.finished),
    failed: sum(tallies.failed),
    stopped: sum(tallies.stopped),
    canceled: null,
  };
}

/** The states of `counts` that are null for want of a bounded read (canceled, never counted, left out). */
export function uncountedStates(counts: StateCounts): CountState[] {
  return COUNT_STATES.filter((state) => state !== 'canceled' && counts[state] === null);
}

/** Every site named in a queue's tallies. */
export function talliedSites(tallies: SiteTallies): string[] {
  const names = new Set<string>();
  for (const map of [tallies.queued, tallies.started, tallies.scheduled, tallies.finished, tallies.failed, tallies.stopped]) {
    for (const site of map?.keys() ?? []) names.add(site);
  }
  return [...names];
}

/**
 * The ids of a sorted set (of its unexpired part: scores from `minScore` up), read window by window, or
 * undefined when it holds more than SITE_COUNT_BOUND of them (nothing then read but its size).
 */
async function boundedIds(redis: Redis, key: string, minScore?: number): Promise<string[] | undefined> {
  const size = minScore === undefined ? await redis.zcard(key) : await redis.zcount(key, minScore, '+inf');
  if (size > SITE_COUNT_BOUND) return undefined;
  const ids: string[] = [];
  const windows = minScore === undefined ? zsetWindows(redis, key) : zsetWindows(redis, key, { descending: true, minScore });
  for await (const window of windows) {
    for (const entry of window) ids.push(entry.id);
    if (ids.length >= SITE_COUNT_BOUND) break;
  }
  return ids;
}

/** The failed set's jobs by site, failed and stopped apart (ids whose hash expired left out); undefined past the bound. */
async function failedBySite(redis: Redis, keys: QueueKeys): Promise<{ failed: Map<string, number>; stopped: Map<string, number> } | undefined> {
  const ids = await boundedIds(redis, keys.failed);
  if (!ids) return undefined;
  const failed = new Map<string, number>();
  const stopped = new Map<string, number>();
  for (let start = 0; start < ids.length; start += STATUS_CHUNK) {
    const chunk = ids.slice(start, start + STATUS_CHUNK);
    const pipeline = crossSlotPipeline(redis);
    for (const id of chunk) pipeline.hget(keys.job(id), 'status');
    (await execAll(pipeline)).forEach((status, i) => {
      const target = status === 'failed' ? failed : status === 'stopped' ? stopped : undefined;
      if (target) increment(target, siteOf(chunk[i] as string));
    });
  }
  return { failed, stopped };
}

function bySite(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) increment(counts, siteOf(id));
  return counts;
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
