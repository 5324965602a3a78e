// Per-site load of each queue, for `bench doctor` and `bench jobs counts`: how many jobs of each site
// wait (each site's lane, plus the legacy wait list's ids counted by their site: queue/lanes.ts) and how
// many run (the active set's ids by site, prefetched ones included). The queue's own totals come from
// its counters (pendingCount, the active set's size), so they hold ids of no site too.
import type { Redis } from '../redis/client-type.js';
import type { BenchConfig } from '../config/load.js';
import { pendingBySite, pendingCount, runningBySite } from '../queue/lanes.js';
import { queueKeys } from '../redis/keys.js';
import { selectQueues } from './jobs.js';

export interface SiteLoad {
  queued: number;
  /** Running jobs (claimed, prefetched included). */
  started: number;
}

export interface QueueLoad {
  queue: string;
  /** Queued jobs of every site. */
  queued: number;
  /** Running jobs of every site. */
  started: number;
  /** Per site holding queued or running jobs on this queue (only `site`'s when one is given), by name. */
  bySite: Record<string, SiteLoad>;
}

/** One queue's totals and per-site counts. */
export async function queueLoad(redis: Redis, benchId: string, queue: string, site?: string): Promise<QueueLoad> {
  const keys = queueKeys(benchId, queue);
  const [queued, started, pending, running] = await Promise.all([pendingCount(redis, keys), redis.zcard(keys.active), pendingBySite(redis, keys), runningBySite(redis, keys)]);
  const names = [...new Set([...pending.keys(), ...running.keys()])].filter((name) => (site === undefined ? name !== '' : name === site)).sort();
  const bySite: Record<string, SiteLoad> = {};
  for (const name of names) bySite[name] = { queued: pending.get(name) ?? 0, started: running.get(name) ?? 0 };
  return { queue, queued, started, bySite };
}

/** The load of every queue of the bench (or of `queue`), in priority order; per site of `site` only, when given. */
export async function queueLoads(redis: Redis, bench: BenchConfig, filter: { queue?: string | undefined; site?: string | undefined } = {}): Promise<QueueLoad[]> {
  const loads: QueueLoad[] = [];
  for (const queue of selectQueues(bench, filter.queue)) loads.push(await queueLoad(redis, bench.settings.bench_id, queue, filter.site));
  return loads;
}
