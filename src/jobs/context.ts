// Builds the JobContext a job (and its hooks and callbacks) receives: the fixed facts of the job
// plus the transaction it runs in (ctx.db, afterCommit, enqueueAfterCommit, publishRealtime).
import type { Transaction } from '../db/transaction.js';
import type { Logger } from '../log/logger.js';
import type { EnqueueOptions, JobMethod } from '../queue/client.js';
import type { TransactionalRealtimeOptions } from '../realtime/realtime.js';
import type { RunRequest } from '../worker/child-protocol.js';
import type { JobContext, JobInfo } from './types.js';

/** Everything of a JobContext that does not depend on the transaction. */
export type ContextBase = Omit<JobContext, 'db' | 'afterCommit' | 'enqueueAfterCommit' | 'publishRealtime' | 'retry'>;

export function contextBase(
  request: RunRequest,
  log: Logger,
  signal: AbortSignal,
  config: Readonly<Record<string, unknown>>,
  enqueue: (method: JobMethod, options?: Partial<EnqueueOptions>) => Promise<string>,
): ContextBase {
  return {
    site: request.site,
    jobId: request.id,
    queue: request.queue,
    method: request.method,
    jobName: request.jobName,
    user: request.user,
    attempt: request.attempt,
    timeout: request.timeout,
    log,
    signal,
    config,
    enqueue,
  };
}

/** The context of one run of the job function (or of a hook / callback) inside `tx`. */
export function contextFor(base: ContextBase, tx: Transaction, retry: number): JobContext {
  return {
    ...base,
    db: tx,
    retry,
    afterCommit: (callback) => tx.afterCommit(callback),
    enqueueAfterCommit: (method, options) => tx.enqueueAfterCommit(method, options),
    publishRealtime: (event: string, message?: unknown, options: TransactionalRealtimeOptions = {}) =>
      // Frappe's msgprint goes to the current user when no room or user is given.
      tx.publishRealtime(event, message, event === 'msgprint' && options.user === undefined && options.room === undefined ? { ...options, user: base.user } : options),
  };
}

export function jobInfo(request: RunRequest, kwargs: Record<string, unknown>): JobInfo {
  return {
    id: request.id,
    site: request.site,
    queue: request.queue,
    method: request.method,
    jobName: request.jobName,
    kwargs,
    user: request.user,
    attempt: request.attempt,
    timeout: request.timeout,
    event: request.event,
    doc: request.doc,
  };
}
