// Public library surface of bench-worker: enqueue jobs from app code, write job functions, run a
// worker in-process, read config. Everything else is internal.
import { BenchClient } from './client.js';
import type { EnqueueManyOptions, EnqueueOptions, JobMethod, KwargsOf, JobRecord } from './vocabulary.js';
import type { WorkerInfo } from './monitor/workers.js';
import type { SiteDatabase } from './db/site-db.js';
import type { RealtimeOptions } from './realtime/realtime.js';

export { BenchClient, type BenchClientOptions, type WaitForJobOptions } from './client.js';
export type { EnqueueManyOptions, EnqueueOptions, JobMethod, KwargsOf } from './vocabulary.js';
export type { JobContext, JobHandler, ProgressOptions } from './jobs/types.js';
export type { JobRecord, JobStatus } from './vocabulary.js';
export { BenchError, ConfigError, JobLoadError, RetryBackgroundJobError, isBenchError, type BenchErrorCode } from './errors.js';
export type { AfterJobHook, BeforeJobHook, FailureCallback, JobInfo, SuccessCallback } from './jobs/types.js';
export { SiteDatabase } from './db/site-db.js';
export type { Transaction, AfterCommitCallback } from './db/transaction.js';
export type { Dialect, Queryable, Row, RunResult, SqlValue } from './db/types.js';
export { REALTIME_CHANNEL, type RealtimeEnvelope, type RealtimeOptions, type TransactionalRealtimeOptions } from './realtime/realtime.js';
export { findBenchPath, loadBenchConfig, loadSiteConfig, type BenchConfig, type SiteConfig } from './config/load.js';
export { Supervisor, type SupervisorOptions } from './worker/supervisor.js';
export { createLogger } from './log/logger.js';
export type { WorkerInfo } from './monitor/workers.js';
export { LISTABLE_STATUSES, type JobPage, type ListJobsOptions, type ListableStatus } from './monitor/jobs.js';
export type { JobActionOptions, JobFilter } from './monitor/actions.js';
export type { SchedulerAction, SchedulerStatus, ScheduledMethod, TriggerResult } from './scheduler/status.js';

let defaultClient: Promise<BenchClient> | undefined;

/** The client for the bench at $BENCH_PATH (or the current folder), opened on first use. */
export function getDefaultClient(): Promise<BenchClient> {
  defaultClient ??= BenchClient.open().catch((err: unknown) => {
    defaultClient = undefined;
    throw err;
  });
  return defaultClient;
}

/** Enqueue a job on the default bench; resolves to its id (`site||id`). */
export async function enqueue<M extends JobMethod>(method: M, options: EnqueueOptions<KwargsOf<M>>): Promise<string> {
  return (await getDefaultClient()).enqueue(method, options);
}

/** Enqueue one job per kwargs object on the default bench. */
export async function enqueueMany<M extends JobMethod>(method: M, kwargsList: readonly KwargsOf<M>[], options: EnqueueManyOptions): Promise<string[]> {
  return (await getDefaultClient()).enqueueMany(method, kwargsList, options);
}

/** Frappe's get_jobs on the default bench: queued and running jobs grouped by site. */
export async function getJobs(site?: string, queue?: string): Promise<Record<string, JobRecord[]>> {
  return (await getDefaultClient()).getJobs(site, queue);
}

/** Frappe's get_workers on the default bench: its live workers (only `queue`'s when given). */
export async function getWorkers(queue?: string): Promise<WorkerInfo[]> {
  return (await getDefaultClient()).getWorkers(queue);
}

/** Frappe's enqueue_doc on the default bench: run a DocType controller method on a document. */
export async function enqueueDoc(doctype: string, name: string, method: string, options: EnqueueOptions): Promise<string> {
  return (await getDefaultClient()).enqueueDoc(doctype, name, method, options);
}

/** The database of `site` on the default bench (see BenchClient.siteDb); closed by closeDefaultClient. */
export async function openSiteDb(site: string): Promise<SiteDatabase> {
  return (await getDefaultClient()).siteDb(site);
}

/** Frappe's publish_realtime on the default bench (Redis channel realtime_channel, default `events`). */
export async function publishRealtime(event: string, message: unknown, options: RealtimeOptions & { site: string }): Promise<number> {
  return (await getDefaultClient()).publishRealtime(event, message, options);
}

/** Close the default client's Redis connection (lets the process exit). */
export async function closeDefaultClient(): Promise<void> {
  const client = defaultClient;
  defaultClient = undefined;
  if (client) await (await client).close();
}
