// What a queue holds pending, for assertions: the legacy wait list, then each site's lane in the ring's
// turn order (src/queue/lanes.ts), holes left out. With one site this is the order its jobs run in. And
// taking ids out by hand the way lua/includes/lanes.lua does (the queue's count and the ring kept right).
import type { Redis } from '../../src/redis/client-type.ts';
import { pendingCount, pendingListOf, pendingLists } from '../../src/queue/lanes.ts';
import { siteOf } from '../../src/redis/job-record.ts';
import { queueKeys, WAIT_HOLE } from '../../src/redis/keys.ts';

/** Every pending id of `queue` (of one `site`'s lane only, when given), holes skipped. */
export async function queuedIds(redis: Redis, benchId: string, queue: string, site?: string): Promise<string[]> {
  const keys = queueKeys(benchId, queue);
  const ids: string[] = [];
  for (const list of await pendingLists(redis, keys, site)) ids.push(...(await redis.lrange(list, 0, -1)));
  return ids.filter((id) => id !== WAIT_HOLE && (site === undefined || siteOf(id) === site));
}

/** How many jobs wait on `queue` (the count enqueue's max_queued_jobs check uses). */
export function queuedCount(redis: Redis, benchId: string, queue: string): Promise<number> {
  return pendingCount(redis, queueKeys(benchId, queue));
}

/**
 * Take a queued id out of the list it waits in (its site's lane, or the legacy wait list), keeping the
 * lanes' bookkeeping as lua/includes/lanes.lua does: the `queued` counter, and the ring of non-empty lanes.
 * Resolves to how many entries were removed.
 */
export async function unqueue(redis: Redis, benchId: string, queue: string, id: string): Promise<number> {
  const k = queueKeys(benchId, queue);
  const list = await pendingListOf(redis, k, id);
  const removed = await redis.lrem(list, 0, id);
  if (list === k.wait) return removed;
  const site = siteOf(id);
  const tx = redis.multi().decrby(k.queued, removed);
  if ((await redis.llen(list)) === 0) tx.lrem(k.sites, 0, site).hdel(k.turns, site);
  await tx.exec();
  return removed;
}

/** Empty a queue's pending lists (legacy wait list, every lane, the ring, the turns and the counter), leaving the job hashes. */
export async function clearQueued(redis: Redis, benchId: string, queue: string): Promise<void> {
  const k = queueKeys(benchId, queue);
  const sites = await redis.lrange(k.sites, 0, -1);
  await redis.del(k.wait, k.sites, k.turns, k.queued, ...sites.map((site) => k.lane(site)));
}
