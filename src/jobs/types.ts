// The public contract between bench-worker and a job function:
//   export async function process_data(kwargs: { n: number }, ctx: JobContext) { ... }
import type { Logger } from 'pino';
import type { AfterCommitCallback } from '../db/transaction.js';
import type { Queryable } from '../db/types.js';
import type { EnqueueOptions, JobMethod } from '../vocabulary.js';
import type { TransactionalRealtimeOptions } from '../realtime/realtime.js';

export interface JobContext {
  /** Site the job runs for. */
  site: string;
  /** Site-namespaced job id (`site||id`). */
  jobId: string;
  queue: string;
  /** Dotted path of the running method. */
  method: string;
  jobName: string;
  /** User the job was enqueued for, if any. */
  user: string | undefined;
  /** 1 on the first run; higher when the job is run again after its worker died. */
  attempt: number;
  /** Seconds the job may run. */
  timeout: number;
  /** pino logger with jobId, site, queue and method bound. */
  log: Logger;
  /** Aborted when the job passes its timeout or is stopped; its child is killed shortly after. */
  signal: AbortSignal;
  /** The site's merged config (common_site_config.json overlaid with site_config.json). */
  config: Readonly<Record<string, unknown>>;
  /** Enqueue another job; `site` defaults to this job's site. */
  enqueue(method: JobMethod, options?: Partial<EnqueueOptions>): Promise<string>;
  /**
   * The site's database, inside the job's transaction: committed when the job succeeds, rolled
   * back when it fails. `?` placeholders on SQLite and PostgreSQL alike.
   */
  db: Queryable;
  /** Run `callback` after the job's transaction commits; dropped if it rolls back. */
  afterCommit(callback: AfterCommitCallback): void;
  /** Enqueue a job once the job's transaction commits (never if it rolls back); `site` defaults to this job's. */
  enqueueAfterCommit(method: JobMethod, options?: Partial<EnqueueOptions>): void;
  /** Publish a realtime message on the realtime channel (realtime_channel, default `events`) (with `afterCommit`, once the transaction commits). */
  publishRealtime(event: string, message?: unknown, options?: TransactionalRealtimeOptions): Promise<void>;
  /**
   * Frappe's publish_progress: event `progress` with `{ percent, title, description }`, now (never held
   * back by the transaction). Room: `taskId`'s, else the document's (given, or the enqueueDoc job's), else
   * the job's user's, else the whole site's.
   */
  publishProgress(percent: number, options?: ProgressOptions): Promise<void>;
  /** 0 on the first run of the job function; 1-5 when it runs again after a deadlock or RetryBackgroundJobError. */
  retry: number;
}

export interface ProgressOptions {
  title?: string | undefined;
  description?: string | undefined;
  /** The document whose form shows the progress (default: the enqueueDoc job's document). */
  doctype?: string | undefined;
  docname?: string | undefined;
  /** Progress of a task: room `task_progress:<taskId>`. */
  taskId?: string | undefined;
}

export type JobHandler<K extends Record<string, unknown> = Record<string, unknown>, R = unknown> = (
  kwargs: K,
  ctx: JobContext,
) => R | Promise<R>;

/** The job as onSuccess / onFailure callbacks see it. */
export interface JobInfo {
  /** Site-namespaced job id (`site||id`). */
  id: string;
  site: string;
  queue: string;
  method: string;
  jobName: string;
  kwargs: Record<string, unknown>;
  user: string | undefined;
  attempt: number;
  timeout: number;
  /** Frappe's `event`, if the job was enqueued with one. */
  event: string | undefined;
  /** The document of an enqueueDoc job. */
  doc: { doctype: string; name: string } | undefined;
}

/** A before_job hook: `(args, ctx)`, inside the job's transaction, before the job function. */
export type BeforeJobHook = (args: { method: string; kwargs: Record<string, unknown> }, ctx: JobContext) => unknown;
/** An after_job hook: `(args, ctx)`, after the job's transaction ended; `result` is undefined when it failed. */
export type AfterJobHook = (args: { method: string; kwargs: Record<string, unknown>; result: unknown }, ctx: JobContext) => unknown;
/** onSuccess callback: `(job, result, ctx)`. */
export type SuccessCallback = (job: JobInfo, result: unknown, ctx: JobContext) => unknown;
/** onFailure callback: `(job, error, ctx)`. */
export type FailureCallback = (job: JobInfo, error: unknown, ctx: JobContext) => unknown;
