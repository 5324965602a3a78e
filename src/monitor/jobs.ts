// Read-side job monitoring: jobs by status from the structure that holds them (wait list, active,
// finished, failed, delayed), filtered by site and paged, then read in one pipeline; Frappe's
// get_jobs (queued + running per site); pending jobs and per-site counts for the site commands.
import type { Redis } from 'ioredis';
import { getQueueSpec, type BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import { checkRange, LIST_LIMIT_RANGE, LIST_OFFSET_RANGE } from '../util/limits.js';
import { jobFromHash, SITE_SEPARATOR } from '../redis/job-record.js';
import type { JobRecord, JobStatus } from '../vocabulary.js';
import { queueKeys } from '../redis/keys.js';

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

/** The queue names to look at: `queue` (checked) or every queue of the bench, in priority order. */
export function selectQueues(bench: BenchConfig, queue?: string): string[] {
  return queue === undefined ? bench.queues.map((q) => q.name) : [getQueueSpec(bench, queue).name];
}

/** Does `id` belong to `site`? Exact: the id must start with `site||`. */
export function isSiteJob(id: string, site: string | undefined): boolean {
  return site === undefined || id.startsWith(`${site}${SITE_SEPARATOR}`);
}

/**
 * Ids of jobs with `status` in `queues`, newest first for finished/failed/stopped, next-to-run first
 * for queued/scheduled. Failed and stopped share the failed set: their statuses are read to tell them apart.
 */
export async function collectJobIds(redis: Redis, bench: BenchConfig, status: ListableStatus, queues: readonly string[], site?: string): Promise<JobRef[]> {
  const benchId = bench.settings.bench_id;
  const pipeline = redis.pipeline();
  let now = 0;
  if (status === 'finished') {
    const [sec, usec] = await redis.time();
    now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  }
  for (const queue of queues) {
    const keys = queueKeys(benchId, queue);
    if (status === 'queued') pipeline.lrange(keys.wait, 0, -1);
    else if (status === 'started') pipeline.zrange(keys.active, '0', '-1', 'WITHSCORES');
    else if (status === 'scheduled') pipeline.zrange(keys.delayed, '0', '-1', 'WITHSCORES');
    // Finished ids are scored by expiry: those past it have lost their hash already.
    else if (status === 'finished') pipeline.zrevrangebyscore(keys.finished, '+inf', now, 'WITHSCORES');
    else pipeline.zrevrange(keys.failed, 0, -1, 'WITHSCORES');
  }
  const replies = await execAll(pipeline);
  let refs: JobRef[] = [];
  replies.forEach((reply, i) => {
    const queue = queues[i] as string;
    const list = reply as string[];
    if (status === 'queued') {
      list.forEach((id, position) => refs.push({ queue, id, score: position }));
    } else {
      for (let j = 0; j + 1 < list.length; j += 2) refs.push({ queue, id: list[j] as string, score: Number(list[j + 1]) });
    }
  });
  refs = refs.filter((ref) => isSiteJob(ref.id, site));
  if (status === 'finished' || status === 'failed' || status === 'stopped') refs.sort((a, b) => b.score - a.score);
  else if (status !== 'queued') refs.sort((a, b) => a.score - b.score);
  if (status === 'failed' || status === 'stopped') {
    const check = redis.pipeline();
    for (const ref of refs) check.hget(queueKeys(benchId, ref.queue).job(ref.id), 'status');
    const statuses = await execAll(check);
    refs = refs.filter((_, i) => statuses[i] === status);
  }
  return refs;
}

/** The records of `refs`, in order, read in one pipeline; jobs whose hash is gone are left out. */
export async function readJobs(redis: Redis, benchId: string, refs: readonly Pick<JobRef, 'queue' | 'id'>[]): Promise<JobRecord[]> {
  if (refs.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const ref of refs) pipeline.hgetall(queueKeys(benchId, ref.queue).job(ref.id));
  const hashes = await execAll(pipeline);
  const jobs: JobRecord[] = [];
  hashes.forEach((hash, i) => {
    const fields = hash as Record<string, string> | null;
    if (fields && Object.keys(fields).length > 0) jobs.push(jobFromHash((refs[i] as JobRef).id, (refs[i] as JobRef).queue, fields));
  });
  return jobs;
}

/** One page of the jobs with a status, optionally of one site and one queue. */
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
  const refs = await collectJobIds(redis, bench, options.status, selectQueues(bench, options.queue), options.site);
  const jobs = await readJobs(redis, bench.settings.bench_id, refs.slice(offset, offset + limit));
  return { jobs, total: refs.length, offset, limit };
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
  for (const job of await readJobs(redis, bench.settings.bench_id, refs)) (bySite[job.site] ??= []).push(job);
  return bySite;
}

/** The queued jobs of `site`, per queue (every queue of the bench is a key, in priority order). */
export async function pendingJobs(redis: Redis, bench: BenchConfig, site: string): Promise<Record<string, JobRecord[]>> {
  const queues = selectQueues(bench);
  const jobs = await readJobs(redis, bench.settings.bench_id, await collectJobIds(redis, bench, 'queued', queues, site));
  const byQueue: Record<string, JobRecord[]> = {};
  for (const queue of queues) byQueue[queue] = jobs.filter((job) => job.queue === queue);
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
  const [queued, scheduled, started] = await Promise.all(
    (['queued', 'scheduled', 'started'] as const).map(async (status) => (await collectJobIds(redis, bench, status, queues, site)).length),
  );
  return { queued: queued ?? 0, scheduled: scheduled ?? 0, started: started ?? 0 };
}

/** Run a pipeline and return its replies, throwing the first command error. */
export async function execAll(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
