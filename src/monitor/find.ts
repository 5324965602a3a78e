// The dashboard's find: one query text names jobs by id, id prefix, method=, site= or <kwarg>=<value>,
// and each kind is answered by a bounded read, never a SCAN of the keyspace:
//  - an id: its hash on each queue (one round trip); a short id (no "SITE||") on each site the caller
//    may see; else, as an id prefix, the first ids of each structure read at once (find-prefix.ts);
//  - key=value of a key in dashboard_index_keys: that value's index zset per queue (queue/kwargs-index.ts),
//    newest first; an entry whose job is gone or no longer holds the value is dropped. A key that is not
//    indexed is ERR_NOT_INDEXED rather than a read of every job;
//  - method= and site=: a read of the queues' structures, matched in Redis window by window, capped at
//    FIND_SCAN_LIMIT ids (find-scan.ts).
// Every answer keeps to the sites the caller may see and to `limit` jobs, and says `partial` when a cap
// stopped the read before it was complete.
import type { Redis } from '../redis/client-type.js';
import { listSites, type BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import { siteOf, SITE_SEPARATOR } from '../redis/job-record.js';
import { queueKeys } from '../redis/keys.js';
import { crossSlotPipeline } from '../redis/cross-slot.js';
import { indexValue } from '../queue/kwargs-index.js';
import { checkRange, wholeRange } from '../util/limits.js';
import type { JobRecord } from '../vocabulary.js';
import { locateJob } from './actions.js';
import { execAll, readJobs, selectQueues, type JobRef } from './jobs.js';
import { JOB_PREFIX_MIN } from './prefix.js';
import { scanForJobs } from './find-scan.js';
import { findByIdPrefix } from './find-prefix.js';

export const FIND_DEFAULT_LIMIT = 50;
export const FIND_MAX_LIMIT = 500;
const LIMIT_RANGE = wholeRange(1, FIND_MAX_LIMIT);
/** Index entries looked at, at most, for one key=value find (entries of jobs gone are skipped). */
export const INDEX_READ_LIMIT = 10_000;

export type FindQuery =
  | { kind: 'id'; text: string }
  | { kind: 'method'; method: string }
  | { kind: 'site'; site: string }
  | { kind: 'kwarg'; key: string; value: string };

export interface FindOptions {
  /** Most jobs to return: 1 to FIND_MAX_LIMIT (default FIND_DEFAULT_LIMIT). */
  limit?: number | undefined;
  /** The sites the caller may see (exact names); undefined: every site. */
  sites?: readonly string[] | undefined;
  /** Only this site's jobs; a short id (no "SITE||") is read as this site's. */
  site?: string | undefined;
  /** Only this queue; default every queue of the bench. */
  queue?: string | undefined;
}

export interface FindResult {
  query: FindQuery;
  /** How the jobs were found: an exact id, an id prefix, the kwargs index, or a bounded read. */
  via: 'id' | 'prefix' | 'index' | 'scan';
  /** Newest first (through the index: by when each job is due). */
  jobs: JobRecord[];
  /** A cap stopped the read: jobs that match may be missing. */
  partial: boolean;
}

/**
 * The query a find text asks: `method=a.b.c`, `site=x.test`, `id=<id>`, `<kwarg>=<value>`, or else a job
 * id (full, short, or the start of one). Spaces around the key and value are dropped. ERR_USAGE when empty.
 */
export function parseFindQuery(text: string): FindQuery {
  const q = text.trim();
  const eq = q.indexOf('=');
  if (eq === -1) {
    if (q === '') throw usage('find needs a query: a job id (or its start), method=<dotted.path>, site=<site> or <kwarg>=<value>');
    return { kind: 'id', text: q };
  }
  const key = q.slice(0, eq).trim();
  const value = q.slice(eq + 1).trim();
  if (key === '' || value === '') throw usage(`find query "${q}" needs a key and a value on both sides of "="`);
  if (key === 'id') return { kind: 'id', text: value };
  if (key === 'method') return { kind: 'method', method: value };
  if (key === 'site') return { kind: 'site', site: value };
  return { kind: 'kwarg', key, value };
}

/** Find jobs by `query` (text as parseFindQuery reads it, or parsed), within the caller's sites. */
export async function findJobs(redis: Redis, bench: BenchConfig, query: string | FindQuery, options: FindOptions = {}): Promise<FindResult> {
  const parsed = typeof query === 'string' ? parseFindQuery(query) : query;
  const limit = checkRange(options.limit ?? FIND_DEFAULT_LIMIT, 'limit', LIMIT_RANGE, 'ERR_USAGE', { exitCode: 2 });
  const queues = selectQueues(bench, options.queue);
  const visible = (site: string): boolean => (options.sites === undefined || options.sites.includes(site)) && (options.site === undefined || site === options.site);
  const benchId = bench.settings.bench_id;
  switch (parsed.kind) {
    case 'id':
      return findById(redis, bench, parsed, queues, visible, options, limit);
    case 'kwarg': {
      const { jobs, partial } = await fromIndex(redis, bench, parsed, queues, visible, limit);
      return { query: parsed, via: 'index', jobs, partial };
    }
    case 'method':
    case 'site': {
      // One site to read: the query's, or the only one the caller names or sees (its lane alone is read).
      const site = parsed.kind === 'site' ? parsed.site : (options.site ?? (options.sites?.length === 1 ? options.sites[0] : undefined));
      if (site !== undefined && !visible(site)) return { query: parsed, via: 'scan', jobs: [], partial: false };
      const method = parsed.kind === 'method' ? parsed.method : undefined;
      const { refs, partial } = await scanForJobs(redis, benchId, queues, { site, method, visible }, limit);
      const jobs = (await readJobs(redis, bench, refs)).sort((a, b) => b.createdAt - a.createdAt);
      return { query: parsed, via: 'scan', jobs, partial };
    }
  }
}

/** An exact id (full, or short on each site the caller may see), else an id prefix. */
async function findById(redis: Redis, bench: BenchConfig, query: { kind: 'id'; text: string }, queues: readonly string[], visible: (site: string) => boolean, options: FindOptions, limit: number): Promise<FindResult> {
  const at = query.text.indexOf(SITE_SEPARATOR);
  const named = at === -1 ? undefined : query.text.slice(0, at);
  const sites = named !== undefined ? [named] : options.site !== undefined ? [options.site] : (options.sites ?? listSites(bench));
  const local = at === -1 ? query.text : query.text.slice(at + SITE_SEPARATOR.length);
  const ids = sites.filter(visible).map((site) => `${site}${SITE_SEPARATOR}${local}`);
  const queue = queues.length === 1 ? queues[0] : undefined;
  const exact = (await Promise.all(ids.map((id) => locateJob(redis, bench, id, queue)))).flat();
  if (exact.length > 0) return { query, via: 'id', jobs: newestFirst(exact).slice(0, limit), partial: false };
  if (ids.length === 0 || local.length < JOB_PREFIX_MIN) return { query, via: 'prefix', jobs: [], partial: false };
  // Within the one site the query names, or the caller names or sees; else over every site.
  const site = named ?? (ids.length === 1 ? siteOf(ids[0] as string) : undefined);
  const { refs, partial } = await findByIdPrefix(redis, bench.settings.bench_id, queues, { site, local }, visible, limit);
  return { query, via: 'prefix', jobs: newestFirst(await readJobs(redis, bench, refs)), partial };
}

/**
 * The jobs of `key=value` through its index zset on each queue, newest first: a window of each queue's
 * entries at a time (of the sites the caller may see), each entry checked against its job (gone, or no
 * longer holding the value: dropped) once no unread entry can be newer, until `limit` jobs are found or
 * INDEX_READ_LIMIT entries were read.
 */
async function fromIndex(redis: Redis, bench: BenchConfig, query: { kind: 'kwarg'; key: string; value: string }, queues: readonly string[], visible: (site: string) => boolean, limit: number): Promise<{ jobs: JobRecord[]; partial: boolean }> {
  const indexed = bench.settings.dashboard_index_keys ?? [];
  if (!indexed.includes(query.key)) {
    throw new BenchError(
      'ERR_NOT_INDEXED',
      `jobs cannot be found by kwargs key "${query.key}": it is not in dashboard_index_keys (indexed: ${indexed.length === 0 ? 'none' : indexed.join(', ')}); add it to common_site_config.json to index the jobs enqueued from then on. An id holding "=" is found with id=<id>`,
      { details: { key: query.key, indexed } },
    );
  }
  const value = indexValue(query.value) as string;
  const window = Math.min(1000, limit * 2 + 20);
  const open = new Map(queues.map((queue) => [queue, queueKeys(bench.settings.bench_id, queue).index(query.key, value)]));
  const jobs: JobRecord[] = [];
  let waiting: JobRef[] = [];
  let read = 0;
  for (let start = 0; jobs.length < limit; start += window) {
    const reading = [...open.keys()];
    const pipeline = crossSlotPipeline(redis);
    for (const queue of reading) pipeline.zrevrange(open.get(queue) as string, start, start + window - 1, 'WITHSCORES');
    const replies = (await execAll(pipeline)) as string[][];
    // Entries not read yet score at most `floor`, the lowest read of the queues still open.
    let floor = -Infinity;
    reading.forEach((queue, i) => {
      const flat = replies[i] ?? [];
      for (let at = 0; at + 1 < flat.length; at += 2) {
        const id = flat[at] as string;
        if (visible(siteOf(id))) waiting.push({ queue, id, score: Number(flat[at + 1]) });
      }
      read += flat.length / 2;
      if (flat.length < window * 2) open.delete(queue);
      else floor = Math.max(floor, Number(flat[flat.length - 1]));
    });
    const capped = open.size > 0 && read >= INDEX_READ_LIMIT;
    waiting.sort((a, b) => b.score - a.score);
    const settled = capped ? waiting : waiting.filter((ref) => ref.score >= floor);
    waiting = capped ? [] : waiting.slice(settled.length);
    for (const job of await readJobs(redis, bench, settled)) if (jobs.length < limit && holdsValue(job, query)) jobs.push(job);
    if (open.size === 0 && waiting.length === 0) return { jobs, partial: false };
    if (capped) return { jobs, partial: jobs.length < limit };
  }
  return { jobs, partial: false };
}

/** Does the job's kwargs still hold the value (the index entry may be older than the job's id reuse)? */
function holdsValue(job: JobRecord, query: { key: string; value: string }): boolean {
  const kwargs = job.kwargs;
  if (typeof kwargs !== 'object' || kwargs === null || !Object.hasOwn(kwargs, query.key)) return false;
  const held = (kwargs as Record<string, unknown>)[query.key];
  return indexValue(held) !== undefined && String(held) === query.value;
}

function newestFirst(jobs: JobRecord[]): JobRecord[] {
  return jobs.sort((a, b) => b.createdAt - a.createdAt);
}

function usage(message: string): BenchError {
  return new BenchError('ERR_USAGE', message, { exitCode: 2 });
}
