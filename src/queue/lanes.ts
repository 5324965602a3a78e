// Reading a queue's pending jobs now that they wait in per-site lanes (lua/includes/lanes.lua): the
// legacy wait list (ids from before lanes, served first) and each site's lane, in the ring's turn order.
// Readers (monitoring, jobs lists, doctor, tests) go through here, never through one list.
import type { Redis } from '../redis/client-type.js';
import type { QueueKeys } from '../redis/keys.js';
import { siteOf } from '../redis/job-record.js';

/** Ids of the legacy wait list read per call when counting them by site. */
const LEGACY_WINDOW = 1000;

/** The lists holding a queue's pending ids: the legacy wait list first, then each site's lane in turn order. */
export async function pendingLists(redis: Redis, keys: QueueKeys, site?: string): Promise<string[]> {
  if (site !== undefined) return [keys.wait, keys.lane(site)];
  const sites = await redis.lrange(keys.sites, 0, -1);
  return [keys.wait, ...sites.map((s) => keys.lane(s))];
}

/**
 * The list a pending job waits in: its site's lane, or the legacy wait list when the lane does not hold it.
 * Without a legacy list (every bench but one just upgraded) that is the lane, with no search.
 */
export async function pendingListOf(redis: Redis, keys: QueueKeys, id: string): Promise<string> {
  const lane = keys.lane(siteOf(id));
  if ((await redis.llen(keys.wait)) === 0) return lane;
  if ((await redis.lpos(lane, id)) !== null) return lane;
  if ((await redis.lpos(keys.wait, id)) !== null) return keys.wait;
  return lane;
}

/** How many jobs wait on the queue: the lanes' count plus the legacy list's length. */
export async function pendingCount(redis: Redis, keys: QueueKeys): Promise<number> {
  const [queued, legacy] = await Promise.all([redis.get(keys.queued), redis.llen(keys.wait)]);
  return Number(queued ?? 0) + legacy;
}

/** Pending jobs per site: each lane's length, plus the legacy list's ids counted by their site. */
export async function pendingBySite(redis: Redis, keys: QueueKeys): Promise<Map<string, number>> {
  const sites = await redis.lrange(keys.sites, 0, -1);
  const counts = new Map<string, number>();
  const pipeline = redis.pipeline();
  for (const site of sites) pipeline.llen(keys.lane(site));
  const lengths = (await pipeline.exec()) ?? [];
  sites.forEach((site, i) => counts.set(site, Number(lengths[i]?.[1] ?? 0)));
  // The legacy list window by window: one LRANGE of a long list would hold Redis up.
  for (let start = 0; ; start += LEGACY_WINDOW) {
    const ids = await redis.lrange(keys.wait, start, start + LEGACY_WINDOW - 1);
    for (const id of ids) {
      const site = siteOf(id);
      if (site) counts.set(site, (counts.get(site) ?? 0) + 1);
    }
    if (ids.length < LEGACY_WINDOW) break;
  }
  return counts;
}

/** Running jobs per site (prefetched ones included): the active set's ids counted by their site. */
export async function runningBySite(redis: Redis, keys: QueueKeys): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const id of await redis.zrange(keys.active, '0', '-1')) {
    const site = siteOf(id);
    counts.set(site, (counts.get(site) ?? 0) + 1);
  }
  return counts;
}
