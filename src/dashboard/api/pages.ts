// A page of a queue's jobs read by position, for the pages monitor/jobs.ts listJobs can only reach by
// reading every id before them: it walks its structures window by window, one id at a time through async
// generators, which cost 3.4 s at offset 500,000 of a 1,000,000-job queue and 11 s for one site's page
// (it counts the site's jobs by reading them all). Here, in a few commands whatever the offset:
//   queued, every site: the lists' lengths (LLEN: the legacy wait list, then each lane in turn order),
//     then LRANGE of the page's part of the list(s) it falls in; total = the queue's counter.
//   queued, one site: its lane alone (LLEN, LRANGE) while the legacy wait list is empty, as on every
//     bench once the workers have drained what an upgrade left there.
//   started / scheduled (ascending), finished (descending, unexpired part): ZRANGE / ZREVRANGE by rank.
// A position counts a hole (an id an operator removed from the middle of a long list, kept as a marker
// until workers reach it: redis/keys.ts WAIT_HOLE) as an entry: a page holding one shows a job less;
// no job is skipped or shown twice between pages. Every other page (failed/stopped, a site's jobs in a
// sorted set, a site's queued jobs with a legacy list) goes through listJobs: undefined here.
import type { BenchConfig } from '../../config/load.js';
import type { Redis } from '../../redis/client-type.js';
import { queueKeys, WAIT_HOLE, type QueueKeys } from '../../redis/keys.js';
import { pendingCount, pendingLists } from '../../queue/lanes.js';
import { execAll, readJobs, type JobPage, type ListableStatus } from '../../monitor/jobs.js';

export interface PageRequest {
  queue: string;
  state: ListableStatus;
  site: string | undefined;
  offset: number;
  limit: number;
}

/** The page read by position, or undefined when it can only be read by listJobs. */
export async function pageByPosition(redis: Redis, bench: BenchConfig, request: PageRequest, now: number): Promise<JobPage | undefined> {
  const keys = queueKeys(bench.settings.bench_id, request.queue);
  const found = request.state === 'queued' ? await queuedIds(redis, keys, request) : request.site === undefined ? await sortedIds(redis, keys, request, now) : undefined;
  if (!found) return undefined;
  const jobs = await readJobs(
    redis,
    bench,
    found.ids.map((id) => ({ queue: request.queue, id })),
  );
  return { jobs, total: found.total, offset: request.offset, limit: request.limit };
}

interface Positioned {
  ids: string[];
  total: number;
}

async function queuedIds(redis: Redis, keys: QueueKeys, request: PageRequest): Promise<Positioned | undefined> {
  let lists: string[];
  if (request.site === undefined) {
    lists = await pendingLists(redis, keys);
  } else {
    if ((await redis.llen(keys.wait)) > 0) return undefined;
    lists = [keys.lane(request.site)];
  }
  const lengths = redis.pipeline();
  for (const list of lists) lengths.llen(list);
  const sizes = (await execAll(lengths)).map(Number);
  const total = request.site === undefined ? await pendingCount(redis, keys) : (sizes[0] ?? 0);
  const ids: string[] = [];
  let skip = request.offset;
  let want = request.limit;
  for (let i = 0; i < lists.length && want > 0; i++) {
    const size = sizes[i] ?? 0;
    if (skip >= size) {
      skip -= size;
      continue;
    }
    const read = await redis.lrange(lists[i] as string, skip, skip + want - 1);
    for (const id of read) if (id !== WAIT_HOLE) ids.push(id);
    want -= read.length;
    skip = 0;
  }
  return { ids, total };
}

async function sortedIds(redis: Redis, keys: QueueKeys, request: PageRequest, now: number): Promise<Positioned | undefined> {
  const { offset, limit } = request;
  const last = offset + limit - 1;
  if (request.state === 'started' || request.state === 'scheduled') {
    const key = request.state === 'started' ? keys.active : keys.delayed;
    const [total, ids] = await Promise.all([redis.zcard(key), redis.zrange(key, String(offset), String(last))]);
    return { ids, total };
  }
  if (request.state === 'finished') {
    // Scored by expiry: the unexpired ids come first, newest first; those past `now` have lost their hash.
    const total = await redis.zcount(keys.finished, now, '+inf');
    return { ids: offset >= total ? [] : await redis.zrevrange(keys.finished, offset, Math.min(last, total - 1)), total };
  }
  return undefined;
}
