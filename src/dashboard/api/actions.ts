// The dashboard's actions (POST routes): each goes through the same BenchClient methods the CLI uses
// (retry, delete, cancel, stop, requeue failed, pause, resume, enqueue), for one job, for a list of
// jobs, or for every job matching a filter. The server has checked the CSRF token and that the user is
// an admin; here each job's site is checked against the user's sites (a job of another site is "not
// found", as if it did not exist). A bulk action reports each job's outcome instead of stopping at the
// first refusal.
import { isBenchError } from '../../errors.js';
import { siteOf } from '../../redis/job-record.js';
import type { JobRecord } from '../../vocabulary.js';
import { HttpError, requireSite, seesSite, type ApiContext, type Principal } from '../types.js';
import { MAX_PAGE, queueJobs } from './jobs.js';

/** Jobs one bulk request may name. */
export const BULK_MAX = 1000;

const JOB_ACTIONS = ['retry', 'delete', 'cancel', 'stop'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

interface ActionResult {
  id: string;
  ok: boolean;
  status?: string;
  error?: { code: string; message: string };
}

/** The full job id ("site||id") of a route param, checked against the user's sites. */
function jobIdOf(principal: Principal, id: string): string {
  const site = siteOf(id);
  if (!site) throw new HttpError(400, 'ERR_USAGE', `"${id}" is not a full job id (site||id)`);
  requireSite(principal, site);
  return id;
}

async function runJobAction(ctx: ApiContext, action: JobAction, id: string): Promise<JobRecord> {
  const queue = optionalString(ctx.body, 'queue');
  const options = queue === undefined ? {} : { queue };
  switch (action) {
    case 'retry':
      return ctx.client.retryJob(undefined, id, options);
    case 'delete':
      return ctx.client.deleteJob(undefined, id, options);
    case 'cancel':
      return ctx.client.cancelJob(undefined, id, options);
    case 'stop':
      return ctx.client.stopJob(siteOf(id), id);
  }
}

/** POST /api/jobs/:id/:action for one job. */
export function jobAction(action: JobAction) {
  return async (ctx: ApiContext): Promise<unknown> => {
    const id = jobIdOf(ctx.principal, ctx.params['id'] ?? '');
    const job = await runJobAction(ctx, action, id);
    return { id, status: job.status, queue: job.queue };
  };
}

/**
 * POST /api/jobs/bulk {action, ids: [...]} or {action, filter: {queue, state, site?}}: each job's outcome,
 * in order. A filter names every job of a queue in one state (of one site) as the queue page lists them,
 * read first (up to BULK_MAX), then acted on; `truncated` says when more matched.
 */
export async function bulkJobAction(ctx: ApiContext): Promise<unknown> {
  const action = requiredString(ctx.body, 'action');
  if (!(JOB_ACTIONS as readonly string[]).includes(action)) throw new HttpError(400, 'ERR_USAGE', `action must be one of ${JOB_ACTIONS.join(', ')}`);
  const filter = (ctx.body as { filter?: unknown }).filter;
  const { ids, truncated } = filter === undefined ? { ids: (ctx.body as { ids?: unknown }).ids, truncated: false } : await idsMatching(ctx, filter);
  if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === 'string') || (filter === undefined && ids.length === 0)) {
    throw new HttpError(400, 'ERR_USAGE', 'ids must be a non-empty list of job ids (or give a filter)');
  }
  if (ids.length > BULK_MAX) throw new HttpError(400, 'ERR_USAGE', `at most ${BULK_MAX} jobs per request (got ${ids.length})`);
  const results: ActionResult[] = [];
  for (const id of ids) {
    try {
      const full = jobIdOf(ctx.principal, id);
      const job = await runJobAction(ctx, action as JobAction, full);
      results.push({ id, ok: true, status: job.status });
    } catch (err) {
      if (!(err instanceof HttpError) && !isBenchError(err)) throw err;
      results.push({ id, ok: false, error: { code: err.code, message: err.message } });
    }
  }
  return { action, done: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length, truncated, results };
}

/** The ids of the jobs a bulk filter {queue, state, site?} names, page by page as the queue page reads them. */
async function idsMatching(ctx: ApiContext, filter: unknown): Promise<{ ids: string[]; truncated: boolean }> {
  const queue = optionalString(filter, 'queue');
  const state = optionalString(filter, 'state');
  if (queue === undefined || state === undefined) throw new HttpError(400, 'ERR_USAGE', 'a filter names a queue and a state: {queue, state, site?}');
  const site = optionalString(filter, 'site');
  const ids: string[] = [];
  for (let offset = 0; ids.length < BULK_MAX; offset += MAX_PAGE) {
    const query = new URLSearchParams({ state, offset: String(offset), limit: String(MAX_PAGE), ...(site !== undefined && { site }) });
    const page = await queueJobs({ ...ctx, params: { queue }, query });
    ids.push(...page.jobs.map((job) => job.id));
    if (offset + MAX_PAGE >= page.total) return { ids: ids.slice(0, BULK_MAX), truncated: page.total > BULK_MAX };
  }
  return { ids: ids.slice(0, BULK_MAX), truncated: true };
}

/**
 * POST /api/queues/:queue/requeue-failed {site?}: every failed job of the queue (of one site) back on
 * it. A site-limited user requeues only its own sites' jobs, one site after the other.
 */
export async function requeueFailedOfQueue(ctx: ApiContext): Promise<unknown> {
  const queue = ctx.params['queue'] ?? '';
  const site = optionalString(ctx.body, 'site');
  if (site !== undefined) requireSite(ctx.principal, site);
  const sites = site !== undefined ? [site] : ctx.principal.sites === undefined ? [undefined] : [...ctx.principal.sites];
  let requeued = 0;
  for (const one of sites) requeued += await ctx.client.requeueFailed({ queue, ...(one !== undefined && { site: one }) });
  return { queue, site: site ?? null, requeued };
}

/** POST /api/queues/:queue/pause and /resume. Pausing stops claims for every site: admins of every site only. */
export function pauseAction(pause: boolean) {
  return async (ctx: ApiContext): Promise<unknown> => {
    if (ctx.principal.sites !== undefined) throw new HttpError(403, 'ERR_FORBIDDEN', 'pausing a queue affects every site: only a user of every site may');
    const queue = ctx.params['queue'] ?? '';
    if (pause) await ctx.client.pauseQueue(queue, ctx.principal.user);
    else await ctx.client.resumeQueue(queue, ctx.principal.user);
    return { queue, paused: pause };
  };
}

/** POST /api/enqueue {method, site, queue?, kwargs?, jobName?}: admin only (checked by the server). */
export async function enqueueJob(ctx: ApiContext): Promise<unknown> {
  const method = requiredString(ctx.body, 'method');
  const site = requiredString(ctx.body, 'site');
  if (!seesSite(ctx.principal, site)) throw new HttpError(403, 'ERR_FORBIDDEN', `user "${ctx.principal.user}" may not act on site "${site}"`);
  const kwargs = (ctx.body as { kwargs?: unknown }).kwargs ?? {};
  if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs)) throw new HttpError(400, 'ERR_USAGE', 'kwargs must be a JSON object');
  const queue = optionalString(ctx.body, 'queue');
  const jobName = optionalString(ctx.body, 'jobName');
  const id = (await ctx.client.enqueue(method, { site, kwargs: kwargs as Record<string, unknown>, ...(queue !== undefined && { queue }), ...(jobName !== undefined && { jobName }) })) as string;
  return { id };
}

function requiredString(body: unknown, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value === '') throw new HttpError(400, 'ERR_USAGE', `${field} is required`);
  return value;
}

function optionalString(body: unknown, field: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, 'ERR_USAGE', `${field} must be a string`);
  return value;
}
