// GET /api/queues/:queue/jobs (one page of a queue's jobs in one state) and GET /api/jobs/:id (one job's
// whole record). A page is read by position where the structure allows it (pages.ts: queued jobs of every
// site or of one site's lane, started/scheduled/finished jobs of every site: a few commands at any
// offset); else by monitor/jobs.ts listJobs, which reads every id of the structure window by window to
// count them: failed/stopped jobs (the failed set, trimmed to rq_failed_jobs_limit, so bounded), and one
// site's started/scheduled/finished jobs (no per-site index: slow when the set is large, ~10 s per
// 1,000,000 ids here). A principal limited to several sites who gives no site gets their jobs merged in
// one pass over the structure (queued: site after site, each in its lane's order), read in full likewise.
import { isJobId, isSiteName } from '../../config/names.js';
import { SITE_SEPARATOR, siteOf } from '../../redis/job-record.js';
import { findJob } from '../../queue/inspect.js';
import { jobRefs, listJobs, LISTABLE_STATUSES, readJobs, type JobPage, type JobRef, type ListableStatus } from '../../monitor/jobs.js';
import { MAX_LIST_OFFSET } from '../../util/limits.js';
import type { JobRecord, SerializedError } from '../../vocabulary.js';
import { HttpError, seesSite, type ApiContext } from '../types.js';
import { intParam, limitedSites, orNull, queueParam, redisNow, siteParam } from './params.js';
import { pageByPosition } from './pages.js';

/** Most jobs one page holds. */
export const MAX_PAGE = 200;
export const DEFAULT_PAGE = 50;
/** Characters of a job's kwargs JSON shown in a list. */
const KWARGS_PREVIEW = 120;

/** A job as a list shows it (no kwargs, result or stack: GET /api/jobs/:id has them). */
export interface JobSummary {
  id: string;
  site: string;
  queue: string;
  method: string;
  jobName: string;
  status: string;
  user: string | null;
  enqueuedAt: number;
  dueAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  attempts: number;
  worker: string | null;
  /** The last error's name and message. */
  error: { name: string; message: string; code: string | null } | null;
  /** The first characters of its kwargs as JSON. */
  kwargsPreview: string;
}

export interface QueueJobsPayload {
  queue: string;
  state: ListableStatus;
  /** The site filter given, if any. */
  site: string | null;
  /** The sites whose jobs the page holds when the principal is limited to several (and gave no site); else null. */
  sites: string[] | null;
  offset: number;
  limit: number;
  /** Matching jobs in all. */
  total: number;
  jobs: JobSummary[];
}

export async function queueJobs(ctx: ApiContext): Promise<QueueJobsPayload> {
  const bench = ctx.bench();
  const queue = queueParam(ctx);
  const state = (ctx.query.get('state') ?? 'queued') as ListableStatus;
  if (!LISTABLE_STATUSES.includes(state)) {
    throw new HttpError(400, 'ERR_USAGE', `state must be one of ${LISTABLE_STATUSES.join(', ')} (canceled jobs are in no list: open one by id)`);
  }
  const offset = intParam(ctx, 'offset', 0, 0, MAX_LIST_OFFSET);
  const limit = intParam(ctx, 'limit', DEFAULT_PAGE, 1, MAX_PAGE);
  const site = siteParam(ctx);
  const scope = site !== undefined ? [site] : limitedSites(ctx.principal);
  const page =
    scope === undefined || scope.length === 1
      ? ((await pageByPosition(ctx.redis, bench, { queue, state, site: scope?.[0], offset, limit }, await redisNow(ctx.redis))) ??
        (await listJobs(ctx.redis, bench, { queue, status: state, site: scope?.[0], offset, limit })))
      : await scopedPage(ctx, queue, state, scope, offset, limit);
  return {
    queue,
    state,
    site: orNull(site),
    sites: site === undefined && scope !== undefined && scope.length > 1 ? scope : null,
    offset,
    limit,
    total: page.total,
    jobs: page.jobs.map(jobSummary),
  };
}

/** A page of the jobs of several sites (a principal limited to them): every matching id is read, to count them. */
async function scopedPage(ctx: ApiContext, queue: string, state: ListableStatus, sites: readonly string[], offset: number, limit: number): Promise<JobPage> {
  const bench = ctx.bench();
  const page: JobRef[] = [];
  let total = 0;
  const take = (ref: JobRef): void => {
    if (total >= offset && total < offset + limit) page.push(ref);
    total++;
  };
  if (state === 'queued') {
    for (const site of sites) for await (const ref of jobRefs(ctx.redis, bench, state, [queue], site)) take(ref);
  } else {
    const wanted = new Set(sites);
    for await (const ref of jobRefs(ctx.redis, bench, state, [queue])) if (wanted.has(siteOf(ref.id))) take(ref);
  }
  return { jobs: await readJobs(ctx.redis, bench, page), total, offset, limit };
}

export function jobSummary(job: JobRecord): JobSummary {
  const kwargs = JSON.stringify(job.kwargs ?? {});
  return {
    id: job.id,
    site: job.site,
    queue: job.queue,
    method: job.method,
    jobName: job.jobName,
    status: job.status,
    user: orNull(job.user),
    enqueuedAt: job.createdAt,
    dueAt: orNull(job.runAt),
    startedAt: orNull(job.startedAt),
    endedAt: orNull(job.endedAt),
    attempts: job.attempts,
    worker: orNull(job.worker),
    error: job.error ? { name: job.error.name, message: job.error.message, code: orNull(job.error.code) } : null,
    kwargsPreview: kwargs.length > KWARGS_PREVIEW ? `${kwargs.slice(0, KWARGS_PREVIEW - 1)}…` : kwargs,
  };
}

export interface JobTimings {
  enqueuedAt: number;
  /** When a scheduled job (enqueueIn/At, a retry) was due; null for one queued at once. */
  dueAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  /** startedAt less the later of enqueuedAt and dueAt: how long it waited for a worker once due. */
  waitMs: number | null;
  /** endedAt less startedAt. */
  runMs: number | null;
}

export interface JobDetail extends Omit<JobSummary, 'kwargsPreview' | 'error' | 'enqueuedAt' | 'dueAt' | 'startedAt' | 'endedAt'> {
  kwargs: unknown;
  timings: JobTimings;
  /** Seconds it may run. */
  timeout: number;
  /** Times its executor died under it. */
  stalls: number;
  /** Retries its retry policy has used; the policy itself (null: none). */
  retries: number;
  retryPolicy: unknown;
  /** The last error (null when none). */
  error: SerializedError | null;
  /** Every attempt's error that is known, oldest first, the last one included, each with its stack. */
  errors: SerializedError[];
  /** What the method returned (finished jobs; null otherwise). */
  result: unknown;
  event: string | null;
  doctype: string | null;
  docname: string | null;
  onSuccess: string | null;
  onFailure: string | null;
  /** The site's failure TTL (s) when it overrides the bench's; else null. */
  failureTtl: number | null;
}

/** GET /api/jobs/:id: the full id (`site||id`); 404 ERR_JOB_NOT_FOUND when there is none or its site is not the principal's. */
export async function job(ctx: ApiContext): Promise<JobDetail> {
  const id = ctx.params['id'] ?? '';
  const at = id.indexOf(SITE_SEPARATOR);
  const site = siteOf(id);
  const wellFormed = at === -1 ? isJobId(id) : isSiteName(site) && isJobId(id.slice(at + SITE_SEPARATOR.length));
  if (!wellFormed || !seesSite(ctx.principal, site)) throw notFound();
  const record = await findJob(ctx.redis, ctx.bench(), id);
  if (!record) throw notFound();
  return jobDetail(record);
}

function notFound(): HttpError {
  return new HttpError(404, 'ERR_JOB_NOT_FOUND', 'no such job (its record may have expired)');
}

export function jobDetail(record: JobRecord): JobDetail {
  const { kwargsPreview: _preview, error: _error, enqueuedAt, dueAt, startedAt, endedAt, ...summary } = jobSummary(record);
  const due = Math.max(enqueuedAt, dueAt ?? 0);
  return {
    ...summary,
    kwargs: record.kwargs,
    timings: {
      enqueuedAt,
      dueAt,
      startedAt,
      endedAt,
      waitMs: startedAt === null ? null : Math.max(0, startedAt - due),
      runMs: startedAt === null || endedAt === null ? null : Math.max(0, endedAt - startedAt),
    },
    timeout: record.timeout,
    stalls: record.stalls,
    retries: record.retries,
    retryPolicy: record.retry === undefined ? null : parseJson(record.retry),
    error: orNull(record.error),
    errors: everyError(record),
    result: record.result ?? null,
    event: orNull(record.event),
    doctype: orNull(record.doctype),
    docname: orNull(record.docname),
    onSuccess: orNull(record.onSuccess),
    onFailure: orNull(record.onFailure),
    failureTtl: orNull(record.failureTtl),
  };
}

/**
 * The `errors` history (earlier attempts: a retry policy's, or an operator's retry) and the last error,
 * which a retry policy has already put at the history's end (lua/includes/retryFailedJob.lua does the same).
 */
function everyError(record: JobRecord): SerializedError[] {
  const errors = [...record.errors];
  const last = record.error;
  const prev = errors[errors.length - 1];
  const same = prev !== undefined && last !== undefined && prev.name === last.name && prev.message === last.message && prev.stack === last.stack && prev.code === last.code;
  if (last && !same) errors.push(last);
  return errors;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
