// Operator actions on jobs (Frappe's RQ Job actions, plus requeue): retry, delete, cancel one job;
// requeue every failed job; purge queued jobs. Each change is one fenced Lua script that checks the
// job's status itself, so a job that moved on since it was looked up is never touched by mistake.
// No script call reads, scans or rewrites a whole structure: bulk actions go in bounded steps, and an
// id leaves the middle of a long wait list as a hole (lua/includes/holes.lua), so that each call stays
// around a millisecond or two even with 1,000,000 jobs queued. A queued job waits in its site's lane (or
// in the legacy wait list: queue/lanes.ts); cancel, delete and purge name that list to their script.
import type { Redis } from '../redis/client-type.js';
import { queueTimeout, type BenchConfig, type QueueSpec } from '../config/load.js';
import { BenchError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { jobFromHash, siteOf, SITE_SEPARATOR } from '../redis/job-record.js';
import type { JobRecord } from '../vocabulary.js';
import { fullJobId } from '../queue/inspect.js';
import { checkFullJobId } from '../queue/job-id.js';
import { queueKeys, type QueueKeys } from '../redis/keys.js';
import { pendingListOf, pendingLists } from '../queue/lanes.js';
import { ScriptCode } from '../redis/codes.js';
import { runScript } from '../redis/scripts.js';
import { collectJobIds, execAll, selectQueues } from './jobs.js';
import { findInWait } from './scan.js';
import { crossSlotPipeline } from '../redis/cross-slot.js';

/** Failed jobs requeued by one script call. */
export const REQUEUE_BATCH = 50;
/** Ids of a pending list (a lane or the legacy wait list) one purge step examines, and most jobs it deletes. */
export const PURGE_WINDOW = 500;
export const PURGE_MAX_DELETE = 64;
/** Purge steps that may find their anchor gone from near its place before a pass goes on unanchored. */
const PURGE_RESTARTS = 5;
/** Passes over a wait list: another runs only when one went unanchored over a stretch and deleted jobs. */
const PURGE_PASSES = 3;
/** Holes one closeHoles call removes at one end of a wait list, and most calls per end after a purge. */
const CLOSE_HOLES_BATCH = 250;
const CLOSE_HOLES_CALLS = 400;
/** Single-job actions retried when the job moved in its wait list between finding it and acting. */
const ACTION_ATTEMPTS = 3;

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

/**
 * The job id as stored. With no site, `jobId` is taken as given (a full `site||id`, checked). With a
 * site, `jobId` is that site's own id, or its full id when it starts with `site||`; anything else,
 * a full id of another site included, is read as an id of this site (`site||b.test||x`), so a
 * command given one site never reaches another site's job (it is not found).
 */
export function resolveJobId(site: string | undefined, jobId: string): string {
  if (site === undefined || site === '') return checkFullJobId(jobId, 'ERR_USAGE');
  return fullJobId(site, jobId);
}

/** Every queue holding a job with this id (one round trip); one record per queue. */
export async function locateJob(redis: Redis, bench: BenchConfig, id: string, queue?: string): Promise<JobRecord[]> {
  const queues = selectQueues(bench, queue);
  const pipeline = crossSlotPipeline(redis);
  for (const q of queues) pipeline.hgetall(queueKeys(bench.settings.bench_id, q).job(id));
  const found: JobRecord[] = [];
  (await execAll(pipeline)).forEach((hash, i) => {
    const fields = hash as Record<string, string> | null;
    if (fields && Object.keys(fields).length > 0) found.push(jobFromHash(id, queueTimeout(bench, queues[i] as string), fields));
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

/**
 * Find the job, run one fenced action script on its queue, log, and return the script's record. For an
 * action that may take a queued job off the list it waits in (`findsInWait`: its site's lane, or the
 * legacy wait list), the script is given that list and told where the id was seen there; when the list
 * moved too far meanwhile it answers MOVED and is run again.
 */
async function fencedAction(
  ctx: Ctx,
  site: string | undefined,
  jobId: string,
  options: JobActionOptions,
  action: {
    script: string;
    /** The script's KEYS; `list` is the list the job waits in (its site's lane when it is not queued). */
    keys(k: QueueKeys, list: string): string[];
    args?(position: number): (string | number)[];
    findsInWait?: boolean;
    refusal(status: string, job: JobRecord, id: string): string;
    logged: string;
  },
): Promise<JobRecord> {
  const id = resolveJobId(site, jobId);
  const job = await requireJob(ctx.redis, ctx.bench, id, options.queue);
  const k = queueKeys(ctx.bench.settings.bench_id, job.queue);
  for (let attempt = 1; ; attempt++) {
    const list = action.findsInWait && job.status === 'queued' ? await pendingListOf(ctx.redis, k, id) : k.lane(siteOf(id));
    const position = action.findsInWait && job.status === 'queued' ? await findInWait(ctx.redis, list, id) : -1;
    const reply = await runScript(ctx.redis, action.script, action.keys(k, list), [k.prefix, id, ...(action.args?.(position) ?? [])]);
    if ((reply as unknown[])[0] === ScriptCode.MOVED) {
      if (attempt < ACTION_ATTEMPTS) continue;
      throw new BenchError('ERR_JOB_STATE', `job "${id}" kept moving in its queue while it was looked for; try again`, { details: { jobId: id, status: 'queued' } });
    }
    const done = checkReply(reply, id, queueTimeout(ctx.bench, job.queue), (status) => action.refusal(status, job, id));
    ctx.log?.info({ jobId: id, queue: job.queue, status: job.status }, action.logged);
    return done;
  }
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
    keys: (k, list) => [list, k.active, k.finished, k.failed, k.delayed],
    args: (position) => [position],
    findsInWait: true,
    refusal: (status, job, id) =>
      `job "${id}" is running (status: ${status}); stop it first (bench --site ${job.site || '<site>'} stop-job ${id}), then delete it`,
    logged: 'job deleted by an operator',
  });
}

/** Cancel a queued or scheduled job: it leaves its queue and is kept as `canceled` for its failure TTL. */
export function cancelJob(ctx: Ctx, site: string | undefined, jobId: string, options: JobActionOptions = {}): Promise<JobRecord> {
  return fencedAction(ctx, site, jobId, options, {
    script: 'cancelJob',
    keys: (k, list) => [list, k.delayed, k.active],
    args: (position) => [ctx.bench.settings.rq_job_failure_ttl, position],
    findsInWait: true,
    refusal: (status, _job, id) => `job "${id}" is ${status}; only a queued or scheduled job can be canceled`,
    logged: 'job canceled by an operator',
  });
}

/**
 * Requeue every failed job (of `site`, of `queue`) to the end of its queue, in batches of
 * REQUEUE_BATCH (the failed set is read window by window first); stopped jobs stay (retry them one by
 * one). Resolves to the number requeued.
 */
export async function requeueFailed(ctx: Ctx, filter: JobFilter = {}): Promise<number> {
  let total = 0;
  for (const queue of selectQueues(ctx.bench, filter.queue)) {
    const refs = await collectJobIds(ctx.redis, ctx.bench, 'failed', [queue], filter.site);
    const k = queueKeys(ctx.bench.settings.bench_id, queue);
    for (let start = 0; start < refs.length; start += REQUEUE_BATCH) {
      const ids = refs.slice(start, start + REQUEUE_BATCH).map((ref) => ref.id);
      total += Number(await runScript(ctx.redis, 'requeueFailed', [k.failed, k.wait, k.marker, k.active], [k.prefix, ...ids]));
    }
  }
  ctx.log?.info({ site: filter.site, queue: filter.queue, count: total }, 'failed jobs requeued');
  return total;
}

/**
 * Frappe's purge-jobs: delete the queued jobs of `site` (of one queue; only those whose `event` field
 * equals `event`). Each queue's legacy wait list and the site's lane are walked once each, from the
 * head, in steps of PURGE_WINDOW ids (purgeJobs-2.lua), each step deleting at most PURGE_MAX_DELETE
 * jobs: the work grows with the list, and no step takes long whatever its length. Then the holes near
 * each list's ends are removed (closeHoles-1.lua), so that a list left with up to 50,000 jobs keeps
 * none. Resolves to the number deleted.
 */
export async function purgeJobs(ctx: Ctx, site: string, filter: { queue?: string | undefined; event?: string | undefined } = {}): Promise<number> {
  if (!site) throw new BenchError('ERR_USAGE', 'purgeJobs needs a site', { exitCode: 2 });
  return purgeQueued(ctx, site, filter);
}

/**
 * Frappe's purge-jobs without a site: the queued jobs of every site (of one queue; with one event),
 * whole queues when no event is given. The same bounded steps as purgeJobs, over the legacy wait list
 * and every lane in the ring.
 */
export function purgeEverySite(ctx: Ctx, filter: { queue?: string | undefined; event?: string | undefined } = {}): Promise<number> {
  return purgeQueued(ctx, undefined, filter);
}

async function purgeQueued(ctx: Ctx, site: string | undefined, filter: { queue?: string | undefined; event?: string | undefined }): Promise<number> {
  let total = 0;
  for (const queue of selectQueues(ctx.bench, filter.queue)) {
    const k = queueKeys(ctx.bench.settings.bench_id, queue);
    for (const list of await pendingLists(ctx.redis, k, site)) {
      for (let pass = 1; pass <= PURGE_PASSES; pass++) {
        // An empty prefix matches every id: every site's jobs.
        const { deleted, anchored } = await purgePass(ctx.redis, k, list, site === undefined ? '' : `${site}${SITE_SEPARATOR}`, filter.event);
        total += deleted;
        if (anchored || deleted === 0) break;
      }
      await closeHoles(ctx.redis, list);
    }
  }
  ctx.log?.info({ site: site ?? null, queue: filter.queue, event: filter.event, count: total }, 'queued jobs purged');
  return total;
}

/**
 * One walk over a pending list (a lane or the legacy wait list), step by step, each step starting at the anchor the one before returned.
 * `anchored` is false when a step had no anchor to give (a long run of holes) or too many anchors were
 * lost: ids may then have been stepped over while the list moved, and another pass is worth making.
 */
async function purgePass(redis: Redis, k: QueueKeys, list: string, sitePrefix: string, event: string | undefined): Promise<{ deleted: number; anchored: boolean }> {
  const fixed = [k.prefix, sitePrefix, event === undefined ? '0' : '1', event ?? ''];
  let position = 0;
  let anchor = '';
  let deleted = 0;
  let anchored = true;
  let restarts = 0;
  for (;;) {
    const reply = (await runScript(redis, 'purgeJobs', [list, k.active], [...fixed, position, anchor, PURGE_WINDOW, PURGE_MAX_DELETE])) as [number, number, number?, string?, number?];
    if (reply[0] === ScriptCode.MOVED) {
      // The anchor moved far (many jobs pushed at the front) or was taken by another action: start again
      // at the head (what was examined is examined again, harmlessly), or go on unanchored.
      if (++restarts > PURGE_RESTARTS) {
        anchor = '';
        anchored = false;
      } else {
        [position, anchor] = [0, ''];
      }
      continue;
    }
    deleted += Number(reply[1]);
    position = Number(reply[2]);
    anchor = String(reply[3]);
    if (Number(reply[4]) === 1) return { deleted, anchored };
    if (anchor === '') anchored = false;
  }
}

/** Remove the holes near the ends of a pending list, a bounded batch per call, until none is left there. */
async function closeHoles(redis: Redis, list: string): Promise<void> {
  for (const end of ['head', 'tail']) {
    for (let call = 0; call < CLOSE_HOLES_CALLS; call++) {
      if (Number(await runScript(redis, 'closeHoles', [list], [end, CLOSE_HOLES_BATCH])) < CLOSE_HOLES_BATCH) break;
    }
  }
}

function checkReply(reply: unknown, id: string, queue: QueueSpec, wrongState: (status: string) => string): JobRecord {
  const [code, payload] = reply as [number, (string[] | string)?];
  if (code === ScriptCode.OK) return jobFromHash(id, queue, payload as string[]);
  if (code === ScriptCode.NO_JOB) throw notFound(id);
  const status = String(payload);
  throw new BenchError('ERR_JOB_STATE', wrongState(status), { details: { jobId: id, status } });
}

export function notFound(id: string): BenchError {
  const hint = id.includes(SITE_SEPARATOR) ? '' : ' (job ids are "SITE||ID": give the site)';
  return new BenchError('ERR_JOB_NOT_FOUND', `job "${id}" not found${hint}`, { details: { jobId: id } });
}
