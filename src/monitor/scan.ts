// Bounded reads of a queue's structures for the monitoring commands and the job actions: a wait list or
// a sorted set is read in windows of SCAN_WINDOW entries, one short command each, never whole, so that
// looking through a queue of 1,000,000 jobs costs Redis many commands of under a millisecond instead of
// one that stalls it for every bench and worker using it. A list read in windows while workers pop it
// is not one snapshot: at a window's edge an id may be missed or seen twice. Listings accept that;
// findInWait overlaps its windows, and the purge anchors its steps (purgeJobs-2.lua). A queue's pending
// ids wait in several lists (the legacy wait list, then one lane per site: queue/lanes.ts);
// pendingWindows walks them one after the other.
import type { Redis } from '../redis/client-type.js';
import { pendingLists } from '../queue/lanes.js';
import { siteOf } from '../redis/job-record.js';
import { WAIT_HOLE, type QueueKeys } from '../redis/keys.js';

/** Ids of a list read by one command (~0.3 ms), and members of a sorted set (with their scores, which cost more to send). */
export const SCAN_WINDOW = 5000;
export const ZSET_WINDOW = 1000;

/** How much each window of findInWait overlaps the one before: more than the list can shift between two reads. */
const FIND_OVERLAP = 500;

/** A member of a list (score: its position when read) or of a sorted set (score: its score). */
export interface ScoredId {
  id: string;
  score: number;
}

/** The ids of a wait list, next to run first, window by window, each with its position; holes left out. */
export async function* waitWindows(redis: Redis, key: string, window = SCAN_WINDOW): AsyncGenerator<ScoredId[]> {
  for (let start = 0; ; start += window) {
    const ids = await redis.lrange(key, start, start + window - 1);
    const found: ScoredId[] = [];
    ids.forEach((id, i) => {
      if (id !== WAIT_HOLE) found.push({ id, score: start + i });
    });
    if (found.length > 0) yield found;
    if (ids.length < window) return;
  }
}

/**
 * The pending ids of a queue, next to run first as listed: the legacy wait list, then each site's lane
 * in the ring's turn order (only `site`'s lane, and the legacy list's ids of `site`, when one is given),
 * window by window. Scores run on from one list to the next, so that they stay in listing order.
 */
export async function* pendingWindows(redis: Redis, keys: QueueKeys, site?: string, window = SCAN_WINDOW): AsyncGenerator<ScoredId[]> {
  let base = 0;
  for (const list of await pendingLists(redis, keys, site)) {
    let next = base;
    for await (const found of waitWindows(redis, list, window)) {
      const mine = site === undefined || list !== keys.wait ? found : found.filter((entry) => siteOf(entry.id) === site);
      if (mine.length > 0) yield mine.map((entry) => ({ id: entry.id, score: base + entry.score }));
      next = base + (found[found.length - 1] as ScoredId).score + 1;
    }
    base = next;
  }
}

/**
 * The members of a sorted set with their scores, by rank, window by window: lowest score first, or
 * highest first with `descending`, then stopping before the first score under `minScore`.
 */
export async function* zsetWindows(redis: Redis, key: string, options: { descending?: boolean; minScore?: number; window?: number } = {}): AsyncGenerator<ScoredId[]> {
  const window = options.window ?? ZSET_WINDOW;
  for (let start = 0; ; start += window) {
    const flat = options.descending
      ? await redis.zrevrange(key, start, start + window - 1, 'WITHSCORES')
      : await redis.zrange(key, String(start), String(start + window - 1), 'WITHSCORES');
    const found: ScoredId[] = [];
    let below = false;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const score = Number(flat[i + 1]);
      if (options.minScore !== undefined && score < options.minScore) {
        below = true;
        break;
      }
      found.push({ id: flat[i] as string, score });
    }
    if (found.length > 0) yield found;
    if (below || flat.length < window * 2) return;
  }
}

/**
 * Where `id` is in a wait list now, or -1: first among the newest ids (the tail, where a job waits after
 * its enqueue), then window by window from the head, each window overlapping the one before, so that a
 * shift of the list between two reads (workers pop its head) cannot step over it.
 */
export async function findInWait(redis: Redis, key: string, id: string): Promise<number> {
  const nearTail = await redis.lpos(key, id, 'RANK', -1, 'MAXLEN', SCAN_WINDOW);
  if (nearTail !== null) return nearTail;
  for (let start = 0; ; start += SCAN_WINDOW - FIND_OVERLAP) {
    const ids = await redis.lrange(key, start, start + SCAN_WINDOW - 1);
    const at = ids.indexOf(id);
    if (at !== -1) return start + at;
    if (ids.length < SCAN_WINDOW) return -1;
  }
}
