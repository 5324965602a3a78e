// enqueue({ now: true }) / enqueue({ isAsync: false }): run the job inline in the caller, with no
// Redis in between, and return the method's result. It runs as a worker would run it (site
// config, installed-app check, site database transaction, hooks), but publishes no job events.
import { randomUUID } from 'node:crypto';
import { loadSiteConfig, type BenchConfig } from '../config/load.js';
import { closeSiteDatabases, executeJob, type ExecutionEnv } from '../jobs/execute.js';
import type { Logger } from '../log/logger.js';
import type { RunRequest } from '../worker/child-protocol.js';
import type { EnqueueOptions, PreparedEnqueue } from './enqueue.js';

export async function runNow(
  bench: BenchConfig,
  log: Logger,
  prepared: PreparedEnqueue,
  kwargsJson: string,
  options: EnqueueOptions,
  enqueue: ExecutionEnv['enqueue'],
): Promise<unknown> {
  const { fields } = prepared;
  const request: RunRequest = {
    t: 'run',
    id: `${fields.site}||${options.jobId ?? `now-${randomUUID()}`}`,
    site: fields.site,
    queue: fields.queue,
    method: fields.method,
    jobName: fields.jobName,
    kwargs: kwargsJson,
    user: fields.user,
    timeout: fields.timeout,
    attempt: 1,
    event: fields.event,
    onSuccess: fields.onSuccess,
    onFailure: fields.onFailure,
    doc: options.doc,
  };
  const env: ExecutionEnv = { bench, log, siteConfig: (site) => loadSiteConfig(bench, site), enqueue };
  try {
    return JSON.parse(await executeJob(request, env, new AbortController().signal)) as unknown;
  } finally {
    await closeSiteDatabases(env);
  }
}
