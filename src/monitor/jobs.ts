// Read-side job monitoring: jobs by status from the structure that holds them (the legacy wait list and
// the sites' lanes, active, finished, failed, delayed), read window by window (scan.ts), filtered by
// site and paged, then the
// page's records in one pipeline; Frappe's get_jobs (queued + running per site); pending jobs and
// per-site counts for the site commands.
import type { Redis } from '../redis/client-type.js';
import { getQueueSpec, queueTimeout, type BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import { checkRange, LIST_LIMIT_RANGE, LIST_OFFSET_RANGE } from '../util/limits.js';
import { jobFromHash, SITE_SEPARATOR } from '../redis/job-record.js';
import type { JobRecord, JobStatus } from '../vocabulary.js';
import { queueKeys } from '../redis/keys.js';
import { pendingCount } from '../queue/lanes.js';
import { pendingWindows, zsetWindows } from './scan.js';
import { crossSlotPipeline } from '../redis/cross-slot.js';
import { redisNow } from '../redis/clock.js';

/** Statuses a list can be asked for: each lives in one structure of its queue. */
export type ListableStatus = Exclude<JobStatus, 'canceled'>;
export const LISTABLE_STATUSES: readonly ListableStatus[] = ['queued', 'started', 'finished', 'failed', 'stopped', 'scheduled'];

export interface ListJobsOptions {
  /** Only jobs of this site (ids starting with `site||`). */
  site?: string | undefined;
  /** Only this queue; default: every queue of the bench. */
  queue?: string | undefined;
  status: ListableStatus;
  /** Jobs to skip (default 0). */
  offset?: number | undefined;
  /** Most jobs to return (default 50). */
  limit?: number | undefined;
}

export interface JobPage {
  jobs: JobRecord[];
  /** Matching jobs in all, before paging. */
  total: number;
  offset: number;
  limit: number;
}

export const DEFAULT_LIST_LIMIT = 50;

/** A job id in one queue, with its score in the structure it was read from. */
export interface JobRef {
  queue: string;
  id: string;
  score: number;
}

/** Ids whose statuses one pipeline reads, and records one pipeline reads. */
const PIPELINE_CHUNK = 1000;

/** The queue names to look at: `queue` (checked) or every queue of the bench, in priority order. */
export function selectQueues(bench: BenchConfig, queue?: string): string[] {
  return queue === undefined ? bench.queues.map((q) => q.name) : [getQueueSpec(bench, queue).name];
}

/** Does `id` belong to `site`? Exact: the id must start with `site||`. */
export function isSiteJob(id: string, site: string | undefined): boolean {
  return site === undefined || id.startsWith(`${site}${SITE_SEPARATOR}`);
}

/** Newest first for these statuses; next to run (lowest score) first for the others. */
function newestFirst(status: ListableStatus): boolean {
  return status === 'finished' || status === 'failed' || status === 'stopped';
}


/**
 * The jobs with `status` in one queue, of `site`, in listing order, window by window. Failed and
 * stopped jobs share the failed set: each window's statuses are read to tell them apart.
 */
async function* queueRefs(redis: Redis, benchId: string, status: ListableStatus, queue: string, site: string | undefined, now: number): AsyncGenerator<JobRef[]> {
  const keys = queueKeys(benchId, queue);
  const source =
    status === 'queued'
      ? pendingWindows(redis, keys, site)
      : status === 'started'
        ? zsetWindows(redis, keys.active)
        : status === 'scheduled'
          ? zsetWindows(redis, keys.delayed)
          : status === 'finished'
            ? zsetWindows(redis, keys.finished, { descending: true, minScore: now })
            : zsetWindows(redis, keys.failed, { descending: true });
  for await (const window of source) {
    let refs = window.filter((entry) => isSiteJob(entry.id, site)).map((entry) => ({ queue, id: entry.id, score: entry.score }));
    if (status === 'failed' || status === 'stopped') {
      const check = crossSlotPipeline(redis);
      for (const ref of refs) check.hget(keys.job(ref.id), 'status');
      const statuses = refs.length > 0 ? await execAll(check) : [];
      refs = refs.filter((_, i) => statuses[i] === status);
    }
    if (refs.length > 0) yield refs;
  }
}

/** One queue's refs, one at a time, read a window ahead. */
class RefCursor {
  private buffer: JobRef[] = [];
  private next = 0;
  private ended = false;

  constructor(private readonly source: AsyncGenerator<JobRef[]>) {}

  async head(): Promise<JobRef | undefined> {
    while (this.next >= this.buffer.length && !this.ended) {
      const read = await this.source.next();
      if (read.done) this.ended = true;
      else [this.buffer, this.next] = [read.value, 0];
    }
    return this.buffer[this.next];
  }

  take(): void {
    this.next++;
  }

  async close(): Promise<void> {
    await this.source.return(undefined);
  }
}

/**
 * The jobs with `status` in `queues`, of `site`, one at a time in listing order, read window by window:
 * queued jobs queue after queue (in priority order), each queue's legacy wait list first, then its sites'
 * lanes in turn order (only `site`'s lane with a site), each list next-to-run first; the others merged
 * over the queues by score, newest first for finished/failed/stopped, soonest first for started/scheduled.
 */
export async function* jobRefs(redis: Redis, bench: BenchConfig, status: ListableStatus, queues: readonly string[], site?: string): AsyncGenerator<JobRef> {
  const benchId = bench.settings.bench_id;
  const now = status === 'finished' ? await redisNow(redis) : 0;
  if (status === 'queued') {
    for (const queue of queues) for await (const window of queueRefs(redis, benchId, status, queue, site, now)) yield* window;
    return;
  }
  const cursors = queues.map((queue) => new RefCursor(queueRefs(redis, benchId, status, queue, site, now)));
  const descending = newestFirst(status);
  try {
    for (;;) {
      const heads = await Promise.all(cursors.map((cursor) => cursor.head()));
      let best = -1;
      heads.forEach((ref, i) => {
        const current = heads[best];
        if (ref && (!current || (descending ? ref.score > current.score : ref.score < current.score))) best = i;
      });
      if (best === -1) return;
      yield heads[best] as JobRef;
      (cursors[best] as RefCursor).take();
    }
  } finally {
    await Promise.all(cursors.map((cursor) => cursor.close()));
  }
}

/**
 * Every id of jobs with `status` in `queues` (of `site`), in listing order (see jobRefs). Read window
 * by window: no command reads a whole structure.
 */
export async function collectJobIds(redis: Redis, bench: BenchConfig, status: ListableStatus, queues: readonly string[], site?: string): Promise<JobRef[]> {
  const refs: JobRef[] = [];
  for await (const ref of jobRefs(redis, bench, status, queues, site)) refs.push(ref);
  return refs;
}

/** The records of `refs`, in order, read in pipelines; jobs whose hash is gone are left out. */
export async function readJobs(redis: Redis, bench: BenchConfig, refs: readonly Pick<JobRef, 'queue' | 'id'>[]): Promise<JobRecord[]> {
  const benchId = bench.settings.bench_id;
  const jobs: JobRecord[] = [];
  for (let start = 0; start < refs.length; start += PIPELINE_CHUNK) {
    const chunk = refs.slice(start, start + PIPELINE_CHUNK);
    const pipeline = crossSlotPipeline(redis);
    for (const ref of chunk) pipeline.hgetall(queueKeys(benchId, ref.queue).job(ref.id));
    (await execAll(pipeline)).forEach((hash, i) => {
      const fields = hash as Record<string, string> | null;
      const ref = chunk[i] as Pick<JobRef, 'queue' | 'id'>;
      if (fields && Object.keys(fields).length > 0) jobs.push(jobFromHash(ref.id, queueTimeout(bench, ref.queue), fields));
    });
  }
  return jobs;
}

/**
 * How many jobs have `status` in `queues`, from counters alone (no ids read), when that can be known so:
 * not for one site, nor for failed/stopped (they share a set). Queued jobs: the lanes' counter plus the
 * legacy wait list's length, which counts its holes (ids removed from the middle of a long list that
 * workers have not reached yet).
 */
async function countedTotal(redis: Redis, bench: BenchConfig, status: ListableStatus, queues: readonly string[], site: string | undefined): Promise<number | undefined> {
  if (site !== undefined || status === 'failed' || status === 'stopped') return undefined;
  if (status === 'queued') {
    const counts = await Promise.all(queues.map((queue) => pendingCount(redis, queueKeys(bench.settings.bench_id, queue))));
    return counts.reduce((sum, n) => sum + n, 0);
  }
  const now = status === 'finished' ? await redisNow(redis) : 0;
  const pipeline = crossSlotPipeline(redis);
  for (const queue of queues) {
    const keys = queueKeys(bench.settings.bench_id, queue);
    if (status === 'started') pipeline.zcard(keys.active);
    else if (status === 'scheduled') pipeline.zcard(keys.delayed);
    else pipeline.zcount(keys.finished, now, '+inf');
  }
  return (await execAll(pipeline)).reduce<number>((sum, n) => sum + Number(n), 0);
}

/**
 * One page of the jobs with a status, optionally of one site and one queue. Only the ids up to the
 * page's end are read when the total comes from counters; for one site (or failed/stopped jobs) every
 * id is read, window by window, to count them.
 */
export async function listJobs(redis: Redis, bench: BenchConfig, options: ListJobsOptions): Promise<JobPage> {
  if (!LISTABLE_STATUSES.includes(options.status)) {
    throw new BenchError('ERR_USAGE', `unknown job status "${String(options.status)}": status should be one of ${LISTABLE_STATUSES.join(', ')}`, {
      exitCode: 2,
      details: { status: options.status },
    });
  }
  const offset = options.offset ?? 0;
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  checkRange(offset, 'offset', LIST_OFFSET_RANGE, 'ERR_USAGE', { exitCode: 2 });
  checkRange(limit, 'limit', LIST_LIMIT_RANGE, 'ERR_USAGE', { exitCode: 2 });
  const queues = selectQueues(bench, options.queue);
  const counted = await countedTotal(redis, bench, options.status, queues, options.site);
  const page: JobRef[] = [];
  let seen = 0;
  let exhausted = true;
  for await (const ref of jobRefs(redis, bench, options.status, queues, options.site)) {
    if (seen >= offset && seen < offset + limit) page.push(ref);
    seen++;
    if (seen >= offset + limit && counted !== undefined) {
      exhausted = false;
      break;
    }
  }
  const jobs = await readJobs(redis, bench, page);
  return { jobs, total: exhausted ? seen : Math.max(counted ?? seen, seen), offset, limit };
}

/**
 * Frappe's get_jobs: the queued and running jobs of the bench (or of `site`, or of one queue),
 * grouped by site. Within a site: queued first (in queue order), then running.
 */
export async function getJobs(redis: Redis, bench: BenchConfig, site?: string, queue?: string): Promise<Record<string, JobRecord[]>> {
  const queues = selectQueues(bench, queue);
  const refs = [
    ...(await collectJobIds(redis, bench, 'queued', queues, site)),
    ...(await collectJobIds(redis, bench, 'started', queues, site)),
  ];
  const bySite: Record<string, JobRecord[]> = {};
  for (const job of await readJobs(redis, bench, refs)) (bySite[job.site] ??= []).push(job);
  return bySite;
}

/** The queued jobs of one queue for show-pending-jobs: the first `limit`, and how many there are. */
export interface PendingJobs {
  jobs: JobRecord[];
  total: number;
}

/**
 * The queued jobs of `site`, per queue (every queue of the bench is a key, in priority order): the
 * first `limit` of each (default all) and each queue's count (every id is read, window by window).
 */
export async function pendingJobs(redis: Redis, bench: BenchConfig, site: string, limit = Infinity): Promise<Record<string, PendingJobs>> {
  const byQueue: Record<string, PendingJobs> = {};
  for (const queue of selectQueues(bench)) {
    const first: JobRef[] = [];
    let total = 0;
    for await (const ref of jobRefs(redis, bench, 'queued', [queue], site)) {
      if (total < limit) first.push(ref);
      total++;
    }
    byQueue[queue] = { jobs: await readJobs(redis, bench, first), total };
  }
  return byQueue;
}

export interface SiteJobCounts {
  queued: number;
  scheduled: number;
  started: number;
}

/** How many jobs of `site` are queued, scheduled and running, over every queue (ids only, no hashes). */
export async function siteJobCounts(redis: Redis, bench: BenchConfig, site: string): Promise<SiteJobCounts> {
  const queues = selectQueues(bench);
  const count = async (status: ListableStatus): Promise<number> => {
    let n = 0;
    for await (const _ of jobRefs(redis, bench, status, queues, site)) n++;
    return n;
  };
  return { queued: await count('queued'), scheduled: await count('scheduled'), started: await count('started') };
}

/** Run a pipeline and return its replies, throwing the first command error. */
export async function execAll(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
