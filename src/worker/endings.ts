// How a job's end is recorded, for the job loop (processor.ts) and for a killed job's post-mortem
// (post-mortem.ts): the retry its policy gives, with every attempt's error, the error of a timeout, and
// how long the record is kept.
import { BenchError, serializeError } from '../errors.js';
import type { ExecutionEnv } from '../jobs/execute.js';
import type { Ending } from './fetcher.js';
import { nextRetryDelayMs } from '../queue/retry.js';
import type { JobRecord, SerializedError } from '../vocabulary.js';

/** The retry of a failed job under its policy (with every attempt's error so far), if it has a policy. */
export function retryOf(job: JobRecord, error: SerializedError): { delayMs: number; history: string } {
  if (!job.retry) return { delayMs: 0, history: '' };
  const history = JSON.stringify([...job.errors, error]);
  // Out of retries: fail, still keeping every attempt's error.
  return { delayMs: nextRetryDelayMs(job.retry, job.retries) ?? 0, history };
}

/** The error of a job that ran past its timeout (with what it threw once aborted, if anything). */
export function timeoutError(job: Pick<JobRecord, 'timeout'>, thrown: unknown): SerializedError {
  const err = serializeError(new BenchError('ERR_JOB_TIMEOUT', `job exceeded its timeout of ${job.timeout} s and was stopped`));
  if (thrown !== undefined) {
    const cause = serializeError(thrown);
    err.stack = `${err.stack ?? ''}\nCaused by: ${cause.stack ?? cause.message}`;
  }
  return err;
}

/** How long a job's record is kept once it ended: its site's TTL for results, or for failures. */
export function recordTtl(env: Pick<ExecutionEnv, 'bench' | 'siteConfig'>, record: JobRecord, ending: Ending): number {
  let settings = env.bench.settings;
  try {
    settings = env.siteConfig(record.site).settings;
  } catch {
    // The site went away while its job ran: the common settings.
  }
  return ending.kind === 'finished' ? settings.rq_results_ttl : settings.rq_job_failure_ttl;
}
