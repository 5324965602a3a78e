// Jobs whose id starts with a given text, for the dashboard's find (src/monitor/find.ts). prefix.ts serves
// the CLI (one job named by a unique prefix): it reads the structures one after another, ZSCAN by ZSCAN,
// up to 50,000 ids each, which at 1,000,000 jobs takes 100 ms and more. Here each queue's structures are
// read at once: their sizes, then every window up to PREFIX_READ_LIMIT ids of each, sent together
// (running, scheduled, failed and finished newest first, pending next-to-run first over the sites'
// lanes), the queues side by side. The answer says partial when a structure held more than was read.
import type { Redis } from '../redis/client-type.js';
import { SITE_SEPARATOR } from '../redis/job-record.js';
import { queueKeys } from '../redis/keys.js';
import { crossSlotPipeline } from '../redis/cross-slot.js';
import { pendingLists } from '../queue/lanes.js';
import { execAll, type JobRef } from './jobs.js';

/** Ids of one structure (a sorted set, or a queue's pending lists together) a prefix find reads at most. */
export const PREFIX_READ_LIMIT = 20_000;
/** Ids per read command. */
const WINDOW = 2000;

export interface IdPrefix {
  /** The site named before "||"; undefined: any site. */
  site: string | undefined;
  /** What the part of the id after "||" starts with. */
  local: string;
}

export interface PrefixResult {
  refs: JobRef[];
  /** A structure held more ids than were read: a match may be missing. */
  partial: boolean;
}

/** Up to `limit` jobs of `queues` whose id starts with the prefix, of the sites `visible` allows. */
export async function findByIdPrefix(redis: Redis, benchId: string, queues: readonly string[], prefix: IdPrefix, visible: (site: string) => boolean, limit: number): Promise<PrefixResult> {
  const matches = (id: string): boolean => {
    const at = id.indexOf(SITE_SEPARATOR);
    if (at === -1 || !id.startsWith(prefix.local, at + SITE_SEPARATOR.length)) return false;
    const site = id.slice(0, at);
    return (prefix.site === undefined || site === prefix.site) && visible(site);
  };
  const perQueue = await Promise.all(queues.map((queue) => readQueue(redis, benchId, queue, prefix.site, matches)));
  const refs = perQueue.flatMap((q) => q.refs);
  return { refs: refs.slice(0, limit), partial: refs.length < limit && perQueue.some((q) => q.partial) };
}

/** One queue's matching ids: its structures' sizes, then their windows, in two round trips. */
async function readQueue(redis: Redis, benchId: string, queue: string, site: string | undefined, matches: (id: string) => boolean): Promise<PrefixResult> {
  const k = queueKeys(benchId, queue);
  const sets: [key: string, newestFirst: boolean][] = [[k.active, false], [k.delayed, false], [k.failed, true], [k.finished, true]];
  const lists = await pendingLists(redis, k, site);
  const sizing = crossSlotPipeline(redis);
  for (const [key] of sets) sizing.zcard(key);
  for (const list of lists) sizing.llen(list);
  const sizes = (await execAll(sizing)).map(Number);
  const reading = crossSlotPipeline(redis);
  let partial = false;
  sets.forEach(([key, newestFirst], i) => {
    const size = sizes[i] as number;
    partial ||= size > PREFIX_READ_LIMIT;
    for (let start = 0; start < Math.min(size, PREFIX_READ_LIMIT); start += WINDOW) {
      if (newestFirst) reading.zrevrange(key, start, start + WINDOW - 1);
      else reading.zrange(key, String(start), String(start + WINDOW - 1));
    }
  });
  // The pending lists together, in listing order, up to the limit.
  let left = PREFIX_READ_LIMIT;
  lists.forEach((list, i) => {
    const size = sizes[sets.length + i] as number;
    partial ||= size > left;
    for (let start = 0; start < Math.min(size, left); start += WINDOW) reading.lrange(list, start, start + Math.min(WINDOW, left - start) - 1);
    left = Math.max(0, left - size);
  });
  const refs: JobRef[] = [];
  const seen = new Set<string>();
  for (const ids of (await execAll(reading)) as string[][]) {
    for (const id of ids) {
      if (matches(id) && !seen.has(id)) {
        seen.add(id);
        refs.push({ queue, id, score: 0 });
      }
    }
  }
  return { refs, partial };
}
