// Runs one job inside a job-running child, as Frappe's execute_job does:
//   job_started event -> before_job hooks + the job function, inside a transaction on the site's
//   database -> COMMIT, then its after-commit work; or ROLLBACK and, on a deadlock / lock timeout /
//   SQLITE_BUSY / serialization failure / RetryBackgroundJobError, wait 1, 2, 3, 4, 5 s and run again
//   (never past the job's timeout) -> on failure an Error Log row in a transaction of its own ->
//   after_job hooks -> onSuccess / onFailure callback -> job_finished / job_failed event.
// Hooks after the job and callbacks run in transactions of their own; their errors are logged and
// never change the job's outcome. runFailureEpilogue gives a job whose child was killed under it
// the end of a failed job (Error Log row, after_job hooks, onFailure, job_failed) in another child.
import { setTimeout as sleep } from 'node:timers/promises';
import { writeErrorLog } from '../db/error-log.js';
import { retryableConflict } from '../db/conflicts.js';
import { SiteDbCache, type SiteDatabase } from '../db/site-db.js';
import type { TransactionServices } from '../db/transaction.js';
import { BenchError, reviveError, serializeError, type SerializedError } from '../errors.js';
import type { BenchConfig, SiteConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { EnqueueOptions, JobMethod } from '../queue/client.js';
import { REALTIME_CHANNEL, type RealtimeEnvelope } from '../realtime/realtime.js';
import type { RunRequest } from '../worker/child-protocol.js';
import { contextBase, contextFor, jobInfo, type ContextBase } from './context.js';
import { loadDocMethod } from './doc-method.js';
import { siteHooks, type JobHooks } from './hooks.js';
import { JobEvents } from './lifecycle.js';
import { loadMethod } from './loader.js';
import type { JobContext } from './types.js';

/** What the child process provides to every job it runs. */
export interface ExecutionEnv {
  bench: BenchConfig;
  log: Logger;
  /** The site's config (re-read when its file changes). */
  siteConfig(site: string): SiteConfig;
  /** Enqueue from inside a job (`site` defaults to the job's). */
  enqueue(site: string): (method: JobMethod, options?: Partial<EnqueueOptions>) => Promise<string>;
  /** Publish on a channel of redis_queue (realtime messages, job events). Without it they are dropped. */
  publish?(channel: string, message: string): Promise<unknown>;
}

/** Runs of the job function after the first, on a retryable conflict (Frappe: retry < 5). */
export const MAX_RETRIES = 5;

type JobCall = (kwargs: Record<string, unknown>, ctx: JobContext) => unknown;

/** One open SiteDatabase per site and environment (so per job child). */
const databases = new WeakMap<ExecutionEnv, SiteDbCache>();

function siteDatabases(env: ExecutionEnv): SiteDbCache {
  let cache = databases.get(env);
  if (!cache) {
    const publish = env.publish?.bind(env);
    cache = new SiteDbCache(env.bench, {
      bench: env.bench,
      log: env.log,
      enqueue: (method, options) => env.enqueue(options.site)(method, options),
      publish: publish ? (envelope) => publishSafely(publish, envelope, env.log) : undefined,
    });
    databases.set(env, cache);
  }
  return cache;
}

/** Close the site databases `env` opened (a child going away). */
export async function closeSiteDatabases(env: ExecutionEnv): Promise<void> {
  await databases.get(env)?.closeAll();
  databases.delete(env);
}

/** Run the job of `request`; resolves to its result as JSON, or throws what the job threw. */
export async function executeJob(request: RunRequest, env: ExecutionEnv, signal: AbortSignal): Promise<string> {
  const events = new JobEvents(request, env.publish?.bind(env), env.log);
  events.started();
  try {
    const result = await runJob(request, env, signal);
    events.finished();
    return result;
  } catch (err) {
    events.failed(err);
    throw err;
  }
}

/** What one job's run needs, passed around its steps. */
interface JobRun {
  request: RunRequest;
  env: ExecutionEnv;
  site: SiteConfig;
  db: SiteDatabase;
  base: ContextBase;
  services: Partial<TransactionServices>;
  signal: AbortSignal;
  /** Epoch ms past which no retry starts (the job's timeout). */
  deadline: number;
  kwargs: Record<string, unknown>;
}

type Outcome = { ok: true; value: unknown; json: string } | { ok: false; error: unknown };

/** What a job's run needs, built before the job function (or a killed job's epilogue) runs. */
function prepareRun(request: RunRequest, env: ExecutionEnv, signal: AbortSignal): JobRun {
  const site = env.siteConfig(request.site);
  const log = env.log.child({ jobId: request.id, site: request.site, queue: request.queue, method: request.method });
  return {
    request,
    env,
    site,
    db: siteDatabases(env).get(site),
    base: contextBase(request, log, signal, site.merged, env.enqueue(request.site)),
    services: { log, installedApps: site.installedApps },
    signal,
    deadline: Date.now() + request.timeout * 1000,
    kwargs: {},
  };
}

async function runJob(request: RunRequest, env: ExecutionEnv, signal: AbortSignal): Promise<string> {
  const run = prepareRun(request, env, signal);
  let outcome: Outcome;
  let hooks: JobHooks | undefined;
  try {
    run.kwargs = JSON.parse(request.kwargs) as Record<string, unknown>;
    hooks = await siteHooks(env.bench.appsDir, run.site);
    const call = await resolveJob(run);
    outcome = { ok: true, ...(await runAttempts(run, call, hooks)) };
  } catch (error) {
    outcome = { ok: false, error };
    await logJobError(run, error);
  }
  await afterOutcome(run, outcome, hooks);
  if (!outcome.ok) throw outcome.error;
  return outcome.json;
}

/**
 * The end of a job whose child was killed under it (timeout past the grace, or abandoned after
 * crashes), run in a live child: what a failed job does after its function, as if it had thrown
 * `error`. Error Log row, after_job hooks, onFailure callback, job_failed event.
 */
export async function runFailureEpilogue(request: RunRequest, error: SerializedError, env: ExecutionEnv): Promise<void> {
  const failure = reviveError(error);
  const run = prepareRun(request, env, new AbortController().signal);
  try {
    run.kwargs = JSON.parse(request.kwargs) as Record<string, unknown>;
  } catch {
    // kwargs were checked at enqueue; hooks and callbacks then get {}.
  }
  await logJobError(run, failure);
  const hooks = await siteHooks(env.bench.appsDir, run.site).catch((err: unknown) => {
    run.base.log.error({ err }, 'after_job hooks could not be loaded');
    return undefined;
  });
  await afterOutcome(run, { ok: false, error: failure }, hooks);
  new JobEvents(request, env.publish?.bind(env), env.log).failed(failure);
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

async function resolveJob(run: JobRun): Promise<JobCall> {
  const { request, env, site } = run;
  if (request.doc !== undefined) {
    return loadDocMethod(env.bench.appsDir, request.method, site.installedApps, request.doc.doctype, request.doc.name);
  }
  return (await loadMethod(env.bench.appsDir, request.method, site.installedApps)) as unknown as JobCall;
}

/** The job function (after the before_job hooks) in a transaction, retried on conflicts. */
async function runAttempts(run: JobRun, call: JobCall, hooks: JobHooks): Promise<{ value: unknown; json: string }> {
  const { request, signal, base } = run;
  for (let retry = 0; ; retry++) {
    const tx = run.db.begin(run.services);
    const ctx = contextFor(base, tx, retry);
    let value: unknown;
    let json: string;
    try {
      for (const hook of hooks.before) await hook.fn({ method: request.method, kwargs: run.kwargs }, ctx as never);
      value = await call(run.kwargs, ctx);
      // A job that outlived its timeout is recorded as failed: its work must not be committed.
      if (signal.aborted) throw abortReason(signal);
      json = resultJson(value);
      await tx.commit();
    } catch (err) {
      await tx.rollback();
      await waitBeforeRetry(run, err, retry);
      continue;
    }
    await tx.runAfterCommit();
    return { value, json };
  }
}

/** Rethrow `err` unless it is a retryable conflict with a retry left that fits before the timeout; then wait. */
async function waitBeforeRetry(run: JobRun, err: unknown, retry: number): Promise<void> {
  const conflict = retryableConflict(err);
  if (conflict === undefined || retry >= MAX_RETRIES || run.signal.aborted) throw err;
  const log = run.base.log;
  const waitMs = (retry + 1) * 1000;
  if (Date.now() + waitMs >= run.deadline) {
    log.warn({ conflict, retry, waitMs }, 'job not retried: its timeout comes before the next try');
    throw err;
  }
  log.warn({ err, conflict, retry: retry + 1, waitMs }, 'job hit a retryable conflict; rolled back, retrying');
  try {
    await sleep(waitMs, undefined, { signal: run.signal });
  } catch {
    throw err;
  }
}

/** frappe.log_error: an error_log row in its own transaction; a failure to write it is only logged. */
async function logJobError(run: JobRun, error: unknown): Promise<void> {
  try {
    await writeErrorLog(run.db, { method: run.request.method, jobId: run.request.id, error });
  } catch (err) {
    run.base.log.error({ err, jobError: serializeError(error), db: run.db.description }, 'error log could not be written');
  }
}

/** Run a hook or callback after the job, in a transaction of its own; errors are logged, not thrown. */
async function outsideJob(run: JobRun, fields: Record<string, unknown>, message: string, call: (ctx: JobContext) => unknown): Promise<void> {
  const tx = run.db.begin(run.services);
  try {
    await call(contextFor(run.base, tx, 0));
    await tx.commit();
  } catch (err) {
    await tx.rollback();
    run.base.log.error({ err, ...fields }, message);
    return;
  }
  try {
    await tx.runAfterCommit();
  } catch (err) {
    run.base.log.error({ err, ...fields }, message);
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new BenchError('ERR_JOB_TIMEOUT', 'the job was aborted');
}

async function publishSafely(publish: (channel: string, message: string) => Promise<unknown>, envelope: RealtimeEnvelope, log: Logger): Promise<void> {
  try {
    await publish(REALTIME_CHANNEL, JSON.stringify(envelope));
  } catch (err) {
    log.warn({ err, event: envelope.event, room: envelope.room }, 'realtime message could not be published');
  }
}

function resultJson(value: unknown): string {
  try {
    return JSON.stringify(value ?? null);
  } catch (err) {
    throw new BenchError('ERR_RESULT_NOT_SERIALISABLE', `the job returned a value that is not JSON-serialisable: ${(err as Error).message}`);
  }
}
