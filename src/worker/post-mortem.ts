// What a supervisor does once one of its worker processes is gone, so that each of its jobs ends exactly
// once: a job it killed the process for ends here (timed out: failed with ERR_JOB_TIMEOUT, or scheduled
// again under its retry policy; stopped by stop-job: stopped), fenced by its claim token; every other
// job the process still held goes back to the front of its queue (a crash counts against the job only
// when the process died on its own), and the process's liveness stamp is dropped. Jobs that fail here
// (timed out, abandoned) get their failure epilogue in a live worker process.
import { BenchError, errorForLog, serializeError } from '../errors.js';
import type { SerializedError } from '../vocabulary.js';
import { executionRequest, type ExecutionRequest } from '../jobs/request.js';
import type { Logger } from '../log/logger.js';
import { ScriptCode, scriptCodeName } from '../redis/codes.js';
import { withDeadline } from '../redis/connection.js';
import type { Ending, Fetcher } from './fetcher.js';
import type { Ownership } from './ownership.js';
import { retryOf, timeoutError } from './endings.js';
import type { Culprit, ExitInfo, WorkerHandle } from './worker-handle.js';

/** How long one Redis call of a post-mortem may take while the supervisor stops (then the stamp's lapse hands the jobs back). */
const STOPPING_CALL_MS = 2000;
/** ... and otherwise (the post-mortem is then tried again). */
const CALL_MS = 15_000;

export interface PostMortemContext {
  ownership: Ownership;
  /** A fetcher acting for the dead process (to end its jobs). */
  fetcherFor(owner: string): Fetcher;
  queues: readonly string[];
  maxStalls: number;
  /** The bench's rq_job_failure_ttl: a job's record keeps it unless its site overrides it (then its hash says so). */
  failureTtl: number;
  log: Logger;
  /** True once the supervisor stops: calls get a short deadline, and killed jobs are only handed back. */
  stopping(): boolean;
  /** Whether the supervisor's Redis connection is up (while stopping, nothing is tried without it). */
  connected(): boolean;
  epilogue(request: ExecutionRequest, error: SerializedError): void;
}

export async function postMortem(ctx: PostMortemContext, handle: WorkerHandle, info: ExitInfo): Promise<void> {
  const { log } = ctx;
  const blameless = info.clean || info.killedFor !== undefined;
  const reason = info.clean
    ? 'its worker process exited'
    : info.killedFor !== undefined
      ? `its worker process was killed (${info.killedFor})`
      : `its worker process died (exit code ${String(info.exitCode)}, signal ${String(info.signal)})`;
  if (!info.clean) {
    // A kill the supervisor meant (a job past its timeout, stop-job, a cold shutdown) was logged as such
    // when it was decided, and the job's end is logged below: not a second warning about the process.
    const fields = { worker: handle.name, pid: handle.pid, exitCode: info.exitCode, signal: info.signal, killedFor: info.killedFor };
    if (info.killedFor === 'timeout' || info.killedFor === 'stop-job' || info.killedFor === 'shutdown') log.debug(fields, 'worker process ended; settling its jobs');
    else log.warn(fields, 'worker process ended; settling its jobs');
  }
  // A thunk, so that nothing is sent when the call is given up at once: a command queued on a closing
  // connection and then dropped would reject with no one listening (an unhandled rejection).
  const call = <T>(send: () => Promise<T>, what: string): Promise<T> => {
    if (ctx.stopping() && !ctx.connected()) return Promise.reject(new Error(`${what}: Redis is unreachable`));
    return withDeadline(send(), ctx.stopping() ? STOPPING_CALL_MS : CALL_MS, `${what} timed out`);
  };
  for (const queue of ctx.queues) {
    if (handle.culprits.length > 0 && !ctx.stopping()) {
      const owned = await call(() => ctx.ownership.ownedJobs(queue, handle.name), 'owned jobs');
      for (const culprit of handle.culprits) {
        const job = owned.find((o) => o.token === culprit.token);
        if (job) await call(() => endCulprit(ctx, handle.name, queue, job.id, culprit), 'ending a killed job');
      }
    }
    const released = await call(() => ctx.ownership.releaseOwner(queue, handle.name, !blameless, ctx.maxStalls, reason), 'hand-back');
    if (released.requeued > 0) log.warn({ queue, worker: handle.name, count: released.requeued, reason }, 'jobs handed back to their queue');
    for (const id of released.abandoned) {
      log.error({ queue, jobId: id, maxStalls: ctx.maxStalls }, 'job failed as abandoned: it took down its worker process too often');
      const record = await call(() => ctx.ownership.readJob(queue, id), 'reading an abandoned job');
      if (record?.error) ctx.epilogue(executionRequest(record), record.error);
    }
  }
}

/** End the job the process was killed for, as the process itself would have. */
async function endCulprit(ctx: PostMortemContext, owner: string, queue: string, id: string, culprit: Culprit): Promise<void> {
  const record = await ctx.ownership.readJob(queue, id);
  if (!record) return;
  let error: SerializedError;
  let ending: Ending;
  if (culprit.kind === 'timeout') {
    error = timeoutError(record, undefined);
    const retry = retryOf(record, error);
    ending = { kind: 'failed', error: JSON.stringify(error), retryMs: retry.delayMs, history: retry.history };
  } else {
    error = serializeError(new BenchError('ERR_JOB_STOPPED', 'job stopped by request; its worker process was killed'));
    ending = { kind: 'stopped', error: JSON.stringify(error) };
  }
  const reply = await ctx.fetcherFor(owner).fetch([queue], [{ queue, id, token: culprit.token, ending, ttl: record.failureTtl ?? ctx.failureTtl }], 0, `end.${culprit.token}`);
  const code = reply.endCodes[0];
  const fields = { jobId: id, queue, worker: owner, code: scriptCodeName(code) };
  if (code === ScriptCode.OK || code === ScriptCode.RETRY_SCHEDULED) {
    if (culprit.kind === 'stopped') ctx.log.warn(fields, 'job stopped');
    else ctx.log.warn({ ...fields, timeoutSeconds: record.timeout, err: errorForLog(error), retrying: code === ScriptCode.RETRY_SCHEDULED }, 'job timed out: still running past its timeout and grace, its worker process was killed');
    // Killed past its grace: the process never ran the job's end, so run it elsewhere (not for stop-job, as RQ).
    if (culprit.kind === 'timeout') ctx.epilogue(executionRequest(record), error);
  } else {
    ctx.log.warn(fields, 'job of a killed worker process was no longer its own; left as it is');
  }
}
