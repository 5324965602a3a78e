// Runs one job inside a job-running child: resolve its site and method, build its JobContext, call
// it, and turn its return value into the JSON result. This is the place where per-job behaviour
// (hooks, the site database transaction, callbacks) wraps the call.
import { loadMethod } from './loader.js';
import type { JobContext } from './types.js';
import { BenchError } from '../errors.js';
import type { BenchConfig, SiteConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { EnqueueOptions, JobMethod } from '../queue/client.js';
import type { RunRequest } from '../worker/child-protocol.js';

/** What the child process provides to every job it runs. */
export interface ExecutionEnv {
  bench: BenchConfig;
  log: Logger;
  /** The site's config (re-read when its file changes). */
  siteConfig(site: string): SiteConfig;
  /** Enqueue from inside a job (`site` defaults to the job's). */
  enqueue(site: string): (method: JobMethod, options?: Partial<EnqueueOptions>) => Promise<string>;
}

/** Run the job of `request`; resolves to its result as JSON, or throws what the job threw. */
export async function executeJob(request: RunRequest, env: ExecutionEnv, signal: AbortSignal): Promise<string> {
  const site = env.siteConfig(request.site);
  const fn = await loadMethod(env.bench.appsDir, request.method, site.installedApps);
  const kwargs = JSON.parse(request.kwargs) as Record<string, unknown>;
  const ctx: JobContext = {
    site: request.site,
    jobId: request.id,
    queue: request.queue,
    method: request.method,
    jobName: request.jobName,
    user: request.user,
    attempt: request.attempt,
    timeout: request.timeout,
    log: env.log.child({ jobId: request.id, site: request.site, queue: request.queue, method: request.method }),
    signal,
    config: site.merged,
    enqueue: env.enqueue(request.site),
  };
  const value = await (fn as (k: Record<string, unknown>, c: JobContext) => unknown)(kwargs, ctx);
  return resultJson(value);
}

function resultJson(value: unknown): string {
  try {
    return JSON.stringify(value ?? null);
  } catch (err) {
    throw new BenchError('ERR_RESULT_NOT_SERIALISABLE', `the job returned a value that is not JSON-serialisable: ${(err as Error).message}`);
  }
}
