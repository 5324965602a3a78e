// Public library surface of bench-worker: enqueue jobs from app code, write job functions, run a
// worker in-process, read config. Everything else is internal.
import { BenchClient, type EnqueueManyOptions, type EnqueueOptions, type JobMethod } from './queue/client.js';

export { BenchClient, type BenchClientOptions, type EnqueueManyOptions, type EnqueueOptions, type JobMethod } from './queue/client.js';
export type { JobContext, JobHandler } from './jobs/types.js';
export type { JobRecord, JobStatus } from './queue/job.js';
export { BenchError, ConfigError, JobLoadError, isBenchError, type BenchErrorCode } from './errors.js';
export { findBenchPath, loadBenchConfig, loadSiteConfig, type BenchConfig, type SiteConfig } from './config/load.js';
export { Worker, type WorkerOptions } from './worker/worker.js';
export { createLogger } from './log/logger.js';

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
export async function enqueue(method: JobMethod, options: EnqueueOptions): Promise<string> {
  return (await getDefaultClient()).enqueue(method, options);
}

/** Enqueue one job per kwargs object on the default bench. */
export async function enqueueMany(method: JobMethod, kwargsList: readonly Record<string, unknown>[], options: EnqueueManyOptions): Promise<string[]> {
  return (await getDefaultClient()).enqueueMany(method, kwargsList, options);
}

/** Close the default client's Redis connection (lets the process exit). */
export async function closeDefaultClient(): Promise<void> {
  const client = defaultClient;
  defaultClient = undefined;
  if (client) await (await client).close();
}
