// What a queue holds pending, for assertions: the legacy wait list, then each site's lane in the ring's
// turn order (src/queue/lanes.ts), holes left out. With one site this is the order its jobs run in.
import type { Redis } from 'ioredis';
import { pendingCount, pendingLists } from '../../src/queue/lanes.ts';
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
