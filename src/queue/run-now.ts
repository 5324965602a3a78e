// enqueue({ now: true }) / enqueue({ isAsync: false }): run the job inline in the caller, with no
// Redis in between, and return the method's result. It runs as a worker would run it (site
// config, installed-app check, site database transaction, hooks), but publishes no job events.
import { loadSiteConfig, type BenchConfig } from '../config/load.js';
import { JobControl } from '../jobs/context.js';
import { closeSiteDatabases, executeJob, type ExecutionEnv } from '../jobs/execute.js';
import { executionRequest } from '../jobs/request.js';
import type { Logger } from '../log/logger.js';
import type { EnqueueOptions, PreparedEnqueue } from './enqueue.js';
import { generatedJobId, jobFromEnqueue } from './job.js';

export async function runNow(
  bench: BenchConfig,
  log: Logger,
  prepared: PreparedEnqueue,
  kwargsJson: string,
  options: EnqueueOptions,
  enqueue: ExecutionEnv['enqueue'],
): Promise<unknown> {
  const { fields } = prepared;
  const id = `${fields.site}||${options.jobId ?? `now-${generatedJobId()}`}`;
  const request = executionRequest(jobFromEnqueue(id, fields, kwargsJson));
  const env: ExecutionEnv = { bench, log, siteConfig: (site) => loadSiteConfig(bench, site), enqueue };
  try {
    return JSON.parse(await executeJob(request, env, new JobControl())) as unknown;
  } finally {
    await closeSiteDatabases(env);
  }
}
