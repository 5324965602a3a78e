// Operator actions on jobs (Frappe's RQ Job actions, plus requeue): retry, delete, cancel one job;
// requeue every failed job; purge queued jobs. Each change is one fenced Lua script that checks the
// job's status itself, so a job that moved on since it was looked up is never touched by mistake.
import type { Redis } from 'ioredis';
import type { BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { jobFromHash, SITE_SEPARATOR } from '../redis/job-record.js';
import type { JobRecord } from '../vocabulary.js';
import { fullJobId } from '../queue/inspect.js';
import { checkFullJobId } from '../queue/job-id.js';
import { queueKeys, type QueueKeys } from '../redis/keys.js';
import { ScriptCode } from '../redis/codes.js';
import { runScript } from '../redis/scripts.js';
import { collectJobIds, execAll, isSiteJob, selectQueues } from './jobs.js';

/** Ids sent to one script call by the bulk actions. */
export const ACTION_BATCH_SIZE = 500;

export interface JobActionOptions {
  /** The job's queue, needed only when the same id is on several queues. */
  queue?: string | undefined;
}

export interface JobFilter {
  site?: string | undefined;
  queue?: string | undefined;
}

interface Ctx {
  redis: Redis;
  bench: BenchConfig;
  log?: Logger | undefined;
}

/** The job id as stored: `jobId` as given when it already holds `||` or no site is given, else `site||jobId`. */
export function resolveJobId(site: string | undefined, jobId: string): string {
  if (site === undefined || site === '') return checkFullJobId(jobId, 'ERR_USAGE');
  return fullJobId(site, jobId);
}

/** Every queue holding a job with this id (one round trip); one record per queue. */
export async function locateJob(redis: Redis, bench: BenchConfig, id: string, queue?: string): Promise<JobRecord[]> {
  const queues = selectQueues(bench, queue);
  const pipeline = redis.pipeline();
  for (const q of queues) pipeline.hgetall(queueKeys(bench.settings.bench_id, q).job(id));
  const found: JobRecord[] = [];
  (await execAll(pipeline)).forEach((hash, i) => {
    const fields = hash as Record<string, string> | null;
    if (fields && Object.keys(fields).length > 0) found.push(jobFromHash(id, queues[i] as string, fields));
  });
  return found;
}

/** The one job with this id (ERR_JOB_NOT_FOUND when none; ERR_JOB_AMBIGUOUS when on several queues and none was named). */
export async function requireJob(redis: Redis, bench: BenchConfig, id: string, queue?: string): Promise<JobRecord> {
  const found = await locateJob(redis, bench, id, queue);
  if (found.length === 0) throw notFound(id);
  if (found.length > 1) {
    const queues = found.map((job) => job.queue);
    throw new BenchError('ERR_JOB_AMBIGUOUS', `job "${id}" is on several queues (${queues.join(', ')}); name one with --queue`, {
      details: { jobId: id, queues },
    });
  }
  return found[0] as JobRecord;
}

/** Find the job, run one fenced action script on its queue, log, and return the script's record. */
async function fencedAction(
  ctx: Ctx,
  site: string | undefined,
  jobId: string,
  options: JobActionOptions,
  action: {
    script: string;
    keys(k: QueueKeys): string[];
    args?(k: QueueKeys): (string | number)[];
    refusal(status: string, job: JobRecord, id: string): string;
    logged: string;
  },
): Promise<JobRecord> {
  const id = resolveJobId(site, jobId);
  const job = await requireJob(ctx.redis, ctx.bench, id, options.queue);
  const k = queueKeys(ctx.bench.settings.bench_id, job.queue);
  const reply = await runScript(ctx.redis, action.script, action.keys(k), [k.prefix, id, ...(action.args?.(k) ?? [])]);
  const done = checkReply(reply, id, job.queue, (status) => action.refusal(status, job, id));
  ctx.log?.info({ jobId: id, queue: job.queue, status: job.status }, action.logged);
  return done;
}

/** Retry a failed or stopped job: back at the end of its queue as queued; its error joins `errors`. */
export function retryJob(ctx: Ctx, site: string | undefined, jobId: string, options: JobActionOptions = {}): Promise<JobRecord> {
  return fencedAction(ctx, site, jobId, options, {
    script: 'retryJob',
    keys: (k) => [k.failed, k.wait, k.marker, k.active],
    refusal: (status, _job, id) => `job "${id}" is ${status}; only a failed or stopped job can be retried`,
    logged: 'job requeued by an operator',
  });
}

/** Delete a job that is not running (hash and list entry). Resolves to the record as it was. */
export function deleteJob(ctx: Ctx, site: string | undefined, jobId: string, options: JobActionOptions = {}): Promise<JobRecord> {
  return fencedAction(ctx, site, jobId, options, {
    script: 'deleteJob',
    keys: (k) => [k.wait, k.active, k.finished, k.failed, k.delayed],
    refusal: (status, job, id) =>
      `job "${id}" is running (status: ${status}); stop it first (bench --site ${job.site || '<site>'} stop-job ${id}), then delete it`,
    logged: 'job deleted by an operator',
  });
}

/** Cancel a queued or scheduled job: it leaves its queue and is kept as `canceled` for its failure TTL. */
export function cancelJob(ctx: Ctx, site: string | undefined, jobId: string, options: JobActionOptions = {}): Promise<JobRecord> {
  return fencedAction(ctx, site, jobId, options, {
    script: 'cancelJob',
    keys: (k) => [k.wait, k.delayed, k.active],
    args: () => [ctx.bench.settings.rq_job_failure_ttl],
    refusal: (status, _job, id) => `job "${id}" is ${status}; only a queued or scheduled job can be canceled`,
    logged: 'job canceled by an operator',
  });
}

/**
 * Requeue every failed job (of `site`, of `queue`) to the end of its queue, in batches; stopped jobs
 * stay (retry them one by one). Resolves to the number requeued.
 */
export async function requeueFailed(ctx: Ctx, filter: JobFilter = {}): Promise<number> {
  let total = 0;
  for (const queue of selectQueues(ctx.bench, filter.queue)) {
    const refs = await collectJobIds(ctx.redis, ctx.bench, 'failed', [queue], filter.site);
    const k = queueKeys(ctx.bench.settings.bench_id, queue);
    for (let start = 0; start < refs.length; start += ACTION_BATCH_SIZE) {
      const ids = refs.slice(start, start + ACTION_BATCH_SIZE).map((ref) => ref.id);
      total += Number(await runScript(ctx.redis, 'requeueFailed', [k.failed, k.wait, k.marker, k.active], [k.prefix, ...ids]));
    }
  }
  ctx.log?.info({ site: filter.site, queue: filter.queue, count: total }, 'failed jobs requeued');
  return total;
}

/**
 * Frappe's purge-jobs: delete the queued jobs of `site` (of one queue; only those whose `event`
 * field equals `event`), in batches, each batch one atomic step. Resolves to the number deleted.
 */
export async function purgeJobs(ctx: Ctx, site: string, filter: { queue?: string | undefined; event?: string | undefined } = {}): Promise<number> {
  if (!site) throw new BenchError('ERR_USAGE', 'purgeJobs needs a site', { exitCode: 2 });
  let total = 0;
  for (const queue of selectQueues(ctx.bench, filter.queue)) {
    const k = queueKeys(ctx.bench.settings.bench_id, queue);
    const ids = (await ctx.redis.lrange(k.wait, 0, -1)).filter((id) => isSiteJob(id, site));
    for (let start = 0; start < ids.length; start += ACTION_BATCH_SIZE) {
      const batch = ids.slice(start, start + ACTION_BATCH_SIZE);
      const args = [k.prefix, filter.event === undefined ? '0' : '1', filter.event ?? '', ...batch];
      total += Number(await runScript(ctx.redis, 'purgeJobs', [k.wait, k.active], args));
    }
  }
  ctx.log?.info({ site, queue: filter.queue, event: filter.event, count: total }, 'queued jobs purged');
  return total;
}

function checkReply(reply: unknown, id: string, queue: string, wrongState: (status: string) => string): JobRecord {
  const [code, payload] = reply as [number, (string[] | string)?];
  if (code === ScriptCode.OK) return jobFromHash(id, queue, payload as string[]);
  if (code === ScriptCode.NO_JOB) throw notFound(id);
  const status = String(payload);
  throw new BenchError('ERR_JOB_STATE', wrongState(status), { details: { jobId: id, status } });
}

function notFound(id: string): BenchError {
  const hint = id.includes(SITE_SEPARATOR) ? '' : ' (job ids are "SITE||ID": give the site)';
  return new BenchError('ERR_JOB_NOT_FOUND', `job "${id}" not found${hint}`, { details: { jobId: id } });
}
