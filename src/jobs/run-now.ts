// enqueue({ now: true }) / enqueue({ isAsync: false }): run the job inline in the caller, with no
// Redis in between, and return the method's result. It runs as a worker would run it (site
// config, installed-app check, site database transaction, hooks), but publishes no job events.
import type { JobRecord } from '../vocabulary.js';
import { JobControl } from './context.js';
import { closeSiteDatabases, executeJob, type ExecutionEnv } from './execute.js';
import { executionRequest } from './request.js';

/** Run `job` (a record built from the enqueue call) in `env`; resolves to the method's result. */
export async function runNow(job: JobRecord, env: ExecutionEnv): Promise<unknown> {
  try {
    return JSON.parse(await executeJob(executionRequest(job), env, new JobControl())) as unknown;
  } finally {
    await closeSiteDatabases(env);
  }
}
