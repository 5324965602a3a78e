// Runs one job, as Frappe's execute_job does: before_job hooks + the job function, inside a transaction
// on the site's database -> COMMIT, then its after-commit work; or ROLLBACK and, on a deadlock / lock
// timeout / SQLITE_BUSY / serialization failure / RetryBackgroundJobError, wait 1, 2, 3, 4, 5 s and run
// again (never past the job's timeout) -> on failure an Error Log row in a transaction of its own ->
// after_job hooks -> onSuccess / onFailure callback. Hooks after the job and callbacks run in
// transactions of their own; their errors are logged and never change the job's outcome.
// runFailureEpilogue gives a job whose worker process was killed under it the end of a failed job
// (Error Log row, after_job hooks, onFailure) in another process. A scheduled run (jobs/scheduled.ts)
// also moves its scheduled_job_log row to Start, then Complete or Failed: one id test per job, and
// two statements only for those runs.
//
// This is the hot path of a worker process: what a job does not use (its logger, AbortSignal,
// transaction, database handle) is never made, and the method, hooks and site config are resolved
// once per process and site.
import { setTimeout as sleep } from 'node:timers/promises';
import { writeErrorLog } from '../db/error-log.js';
import { markRunEnded, markRunStarted } from '../db/scheduler-log.js';
import { retryableConflict } from '../db/conflicts.js';
import { SiteDbCache } from '../db/site-db.js';
import { BenchError, reviveError, serializeError } from '../errors.js';
import type { SerializedError, EnqueueOptions, JobMethod } from '../vocabulary.js';
import type { BenchConfig, SiteConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { RealtimeEnvelope } from '../realtime/realtime.js';
import type { Transaction } from '../db/transaction.js';
import { Context, JobControl, jobInfo, type JobScope } from './context.js';
import { loadDocMethod } from './doc-method.js';
import { siteHooks, type JobHooks } from './hooks.js';
import { loadMethod } from './loader.js';
import type { ExecutionRequest } from './request.js';
import { isScheduledRun } from './scheduled.js';
import type { JobContext } from './types.js';

/** What the process provides to every job it runs. */
export interface ExecutionEnv {
  bench: BenchConfig;
  log: Logger;
  /** The site's config (re-read when its file changes). */
  siteConfig(site: string): SiteConfig;
  /** Enqueue from inside a job (`site` defaults to the job's). */
  enqueue(site: string): (method: JobMethod, options?: Partial<EnqueueOptions>) => Promise<string>;
  /** What tx.enqueueAfterCommit checks before the commit (the producer's checkEnqueueRequest). */
  checkEnqueue(method: JobMethod, options: Partial<EnqueueOptions>, installedApps: readonly string[] | undefined): void;
  /** Publish on a channel of redis_queue (realtime messages). Without it they are dropped. */
  publish?(channel: string, message: string): Promise<unknown>;
}

/** Runs of the job function after the first, on a retryable conflict (Frappe: retry < 5). */
export const MAX_RETRIES = 5;

type JobCall = (kwargs: Record<string, unknown>, ctx: JobContext) => unknown;

/**
 * Per environment (so per process): its site databases, and by site config (a changed config file
 * gives a new object, so a new resolution) its hooks and its resolved job functions.
 */
interface EnvState {
  databases: SiteDbCache;
  calls: WeakMap<SiteConfig, Map<string, JobCall>>;
  hooks: WeakMap<SiteConfig, JobHooks>;
}

const states = new WeakMap<ExecutionEnv, EnvState>();

function stateOf(env: ExecutionEnv): EnvState {
  let state = states.get(env);
  if (!state) {
    const publish = env.publish?.bind(env);
    state = {
      databases: new SiteDbCache(env.bench, {
        bench: env.bench,
        log: env.log,
        enqueue: {
          check: (method, options, installedApps) => env.checkEnqueue(method, options, installedApps),
          enqueue: (method, options) => env.enqueue(options.site)(method, options),
        },
        publish: publish ? (envelope) => publishSafely(publish, env.bench.settings.realtime_channel, envelope, env.log) : undefined,
      }),
      calls: new WeakMap(),
      hooks: new WeakMap(),
    };
    states.set(env, state);
  }
  return state;
}

/** Close the site databases `env` opened (a process going away). */
export async function closeSiteDatabases(env: ExecutionEnv): Promise<void> {
  await states.get(env)?.databases.closeAll();
  states.delete(env);
}

/** Run the job of `request`; resolves to its result as JSON, or throws what the job threw. */
export function executeJob(request: ExecutionRequest, env: ExecutionEnv, control: JobControl): Promise<string> {
  if (isScheduledRun(request.id, request.site)) return runScheduled(request, env, control);
  return runJob(request, env, control);
}

/** A scheduled run: its scheduled_job_log row follows it (a failure to write the row is only logged). */
async function runScheduled(request: ExecutionRequest, env: ExecutionEnv, control: JobControl): Promise<string> {
  const db = stateOf(env).databases.get(env.siteConfig(request.site));
  await recordRun(env, request, () => markRunStarted(db, request.id));
  let json: string;
  try {
    json = await runJob(request, env, control);
  } catch (error) {
    await recordRun(env, request, () => markRunEnded(db, request.id, error));
    throw error;
  }
  await recordRun(env, request, () => markRunEnded(db, request.id, undefined));
  return json;
}

async function recordRun(env: ExecutionEnv, request: ExecutionRequest, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    env.log.error({ err, jobId: request.id, site: request.site }, 'scheduled job log row could not be written');
  }
}

function runJob(request: ExecutionRequest, env: ExecutionEnv, control: JobControl): Promise<string> {
  const state = stateOf(env);
  const run = new JobRun(request, env, env.siteConfig(request.site), control);
  // The common case, once the site's hooks and the method are resolved: no hooks, no callbacks.
  const hooks = state.hooks.get(run.site);
  const call = request.doc === undefined ? state.calls.get(run.site)?.get(request.method) : undefined;
  if (hooks && call && hooks.before.length === 0 && hooks.after.length === 0 && request.onSuccess === undefined && request.onFailure === undefined) {
    return runPlain(run, call);
  }
  return runFull(run);
}

async function runPlain(run: JobRun, call: JobCall): Promise<string> {
  try {
    run.kwargs = kwargsOf(run.request);
    return (await runAttempts(run, call, NO_HOOKS)).json;
  } catch (error) {
    await logJobError(run, error);
    throw error;
  }
}

async function runFull(run: JobRun): Promise<string> {
  const { request, env } = run;
  let outcome: Outcome;
  let hooks: JobHooks | undefined;
  try {
    run.kwargs = kwargsOf(request);
    hooks = await siteHooks(env.bench.appsDir, run.site);
    stateOf(env).hooks.set(run.site, hooks);
    const call = await resolveJob(run);
    outcome = { ok: true, ...(await runAttempts(run, call, hooks)) };
  } catch (error) {
    outcome = { ok: false, error };
    await logJobError(run, error);
  }
  const callback = outcome.ok ? request.onSuccess : request.onFailure;
  if (hooks === undefined || hooks.after.length > 0 || callback !== undefined) await afterOutcome(run, outcome, hooks);
  if (!outcome.ok) throw outcome.error;
  return outcome.json;
}

const NO_HOOKS: JobHooks = { before: [], after: [] };

type Outcome = { ok: true; value: unknown; json: string } | { ok: false; error: unknown };

/** One run of a job: what its steps share, and the scope of its contexts (logger, transactions, enqueue). */
class JobRun implements JobScope {
  /** Epoch ms past which no retry starts (the job's timeout). */
  readonly deadline: number;
  readonly config: Readonly<Record<string, unknown>>;
  kwargs: Record<string, unknown> = {};
  private logger: Logger | undefined;

  constructor(
    readonly request: ExecutionRequest,
    readonly env: ExecutionEnv,
    readonly site: SiteConfig,
    readonly control: JobControl,
  ) {
    this.deadline = Date.now() + request.timeout * 1000;
    this.config = site.merged;
  }

  log(): Logger {
    const { request } = this;
    this.logger ??= this.env.log.child({ jobId: request.id, site: request.site, queue: request.queue, method: request.method });
    return this.logger;
  }

  begin(): Transaction {
    return stateOf(this.env).databases.get(this.site).begin({ log: this.log(), installedApps: this.site.installedApps });
  }

  enqueue(method: JobMethod, options?: Partial<EnqueueOptions>): Promise<string> {
    return this.env.enqueue(this.request.site)(method, options);
  }
}

function kwargsOf(request: ExecutionRequest): Record<string, unknown> {
  const { kwargs } = request;
  if (typeof kwargs === 'object' && kwargs !== null) return kwargs as Record<string, unknown>;
  throw new BenchError('ERR_ENQUEUE_INVALID', `the job's kwargs are not a JSON object: ${JSON.stringify(kwargs)?.slice(0, 200)}`);
}

/**
 * The end of a job whose worker process was killed under it (timeout past the grace, or abandoned
 * after crashes), run in a live process: what a failed job does after its function, as if it had
 * thrown `error`. Error Log row, after_job hooks, onFailure callback.
 */
export async function runFailureEpilogue(request: ExecutionRequest, error: SerializedError, env: ExecutionEnv): Promise<void> {
  const failure = reviveError(error);
  const run = new JobRun(request, env, env.siteConfig(request.site), new JobControl());
  try {
    run.kwargs = kwargsOf(request);
  } catch {
    // kwargs were checked at enqueue; hooks and callbacks then get {}.
  }
  await logJobError(run, failure);
  if (isScheduledRun(request.id, request.site)) {
    const db = stateOf(env).databases.get(run.site);
    await recordRun(env, request, () => markRunEnded(db, request.id, failure));
  }
  const hooks = await siteHooks(env.bench.appsDir, run.site).catch((err: unknown) => {
    run.log().error({ err }, 'after_job hooks could not be loaded');
    return undefined;
  });
  await afterOutcome(run, { ok: false, error: failure }, hooks);
}

/** After the job function: after_job hooks, then onSuccess or onFailure, each outside the job's transaction. */
async function afterOutcome(run: JobRun, outcome: Outcome, hooks: JobHooks | undefined): Promise<void> {
  const { request, env, site } = run;
  const result = outcome.ok ? outcome.value : undefined;
  for (const hook of hooks?.after ?? []) {
    await outsideJob(run, { hook: hook.path }, 'after_job hook failed', (ctx) =>
      hook.fn({ method: request.method, kwargs: run.kwargs, result }, ctx as never),
    );
  }
  const callback = outcome.ok ? request.onSuccess : request.onFailure;
  if (callback === undefined) return;
  const info = jobInfo(request, run.kwargs);
  const detail = outcome.ok ? outcome.value : outcome.error;
  await outsideJob(run, { callback, kind: outcome.ok ? 'onSuccess' : 'onFailure' }, 'job callback failed', async (ctx) => {
    const fn = (await loadMethod(env.bench.appsDir, callback, site.installedApps)) as unknown as (...args: unknown[]) => unknown;
    return fn(info, detail, ctx);
  });
}

/** The job's function, resolved once per site config (a changed site config resolves it again). */
async function resolveJob(run: JobRun): Promise<JobCall> {
  const { request, env, site } = run;
  if (request.doc !== undefined) {
    return loadDocMethod(env.bench.appsDir, request.method, site.installedApps, request.doc.doctype, request.doc.name);
  }
  const calls = stateOf(env).calls;
  let bySite = calls.get(site);
  const known = bySite?.get(request.method);
  if (known) return known;
  const call = (await loadMethod(env.bench.appsDir, request.method, site.installedApps)) as unknown as JobCall;
  if (!bySite) calls.set(site, (bySite = new Map()));
  bySite.set(request.method, call);
  return call;
}

/** The job function (after the before_job hooks) in a transaction, retried on conflicts. */
async function runAttempts(run: JobRun, call: JobCall, hooks: JobHooks): Promise<{ value: unknown; json: string }> {
  const { request, control } = run;
  for (let retry = 0; ; retry++) {
    const ctx = new Context(run, retry);
    let value: unknown;
    let json: string;
    try {
      for (const hook of hooks.before) await hook.fn({ method: request.method, kwargs: run.kwargs }, ctx as never);
      value = await call(run.kwargs, ctx);
      // A job that outlived its timeout is recorded as failed: its work must not be committed.
      if (control.aborted) throw abortReason(control);
      json = resultJson(value);
      await ctx.begun?.commit();
    } catch (err) {
      await ctx.begun?.rollback();
      await waitBeforeRetry(run, err, retry);
      continue;
    }
    await ctx.begun?.runAfterCommit();
    return { value, json };
  }
}

/** Rethrow `err` unless it is a retryable conflict with a retry left that fits before the timeout; then wait. */
async function waitBeforeRetry(run: JobRun, err: unknown, retry: number): Promise<void> {
  const conflict = retryableConflict(err);
  if (conflict === undefined || retry >= MAX_RETRIES || run.control.aborted) throw err;
  const log = run.log();
  const waitMs = (retry + 1) * 1000;
  if (Date.now() + waitMs >= run.deadline) {
    log.warn({ conflict, retry, waitMs }, 'job not retried: its timeout comes before the next try');
    throw err;
  }
  log.warn({ err, conflict, retry: retry + 1, waitMs }, 'job hit a retryable conflict; rolled back, retrying');
  try {
    await sleep(waitMs, undefined, { signal: run.control.signal });
  } catch {
    throw err;
  }
}

/** frappe.log_error: an error_log row in its own transaction; a failure to write it is only logged. */
async function logJobError(run: JobRun, error: unknown): Promise<void> {
  const db = stateOf(run.env).databases.get(run.site);
  try {
    await writeErrorLog(db, { method: run.request.method, jobId: run.request.id, error });
  } catch (err) {
    run.log().error({ err, jobError: serializeError(error), db: db.description }, 'error log could not be written');
  }
}

/** Run a hook or callback after the job, in a transaction of its own; errors are logged, not thrown. */
async function outsideJob(run: JobRun, fields: Record<string, unknown>, message: string, call: (ctx: JobContext) => unknown): Promise<void> {
  const ctx = new Context(run, 0);
  try {
    await call(ctx);
    await ctx.begun?.commit();
  } catch (err) {
    await ctx.begun?.rollback();
    run.log().error({ err, ...fields }, message);
    return;
  }
  try {
    await ctx.begun?.runAfterCommit();
  } catch (err) {
    run.log().error({ err, ...fields }, message);
  }
}

function abortReason(control: JobControl): Error {
  const reason: unknown = control.reason;
  return reason instanceof Error ? reason : new BenchError('ERR_JOB_TIMEOUT', 'the job was aborted');
}

async function publishSafely(publish: (channel: string, message: string) => Promise<unknown>, channel: string, envelope: RealtimeEnvelope, log: Logger): Promise<void> {
  try {
    await publish(channel, JSON.stringify(envelope));
  } catch (err) {
    log.warn({ err, event: envelope.event, room: envelope.room }, 'realtime message could not be published');
  }
}

function resultJson(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (err) {
    throw new BenchError('ERR_RESULT_NOT_SERIALISABLE', `the job returned a value that is not JSON-serialisable: ${(err as Error).message}`);
  }
}
