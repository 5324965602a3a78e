// Builds the JobContext a job (and its hooks and callbacks) receives: the fixed facts of the job plus
// the transaction it runs in (ctx.db, afterCommit, enqueueAfterCommit, publishRealtime). What costs
// something to make (the job's logger, its AbortSignal, the transaction) is made on first use: most
// jobs never touch some of them, and a worker process runs tens of thousands of jobs a second.
import type { Transaction } from '../db/transaction.js';
import type { Logger } from '../log/logger.js';
import type { EnqueueOptions, JobMethod } from '../queue/client.js';
import type { TransactionalRealtimeOptions } from '../realtime/realtime.js';
import type { ExecutionRequest } from './request.js';
import type { JobContext, JobInfo } from './types.js';

/**
 * A job's abort handle. Its AbortController is made only when the job asks for ctx.signal; an abort
 * before that (the job's timeout) is remembered and the signal is born aborted.
 */
export class JobControl {
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private isAborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.isAborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.isAborted;
  }

  get reason(): unknown {
    return this.abortReason;
  }

  abort(reason: unknown): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

/** What every context of one run of a job shares. */
export interface JobScope {
  request: ExecutionRequest;
  /** The site's merged config. */
  config: Readonly<Record<string, unknown>>;
  control: JobControl;
  /** The job's logger (jobId, site, queue and method bound), made on first call. */
  log(): Logger;
  /** A new transaction on the site's database. */
  begin(): Transaction;
  enqueue(method: JobMethod, options?: Partial<EnqueueOptions>): Promise<string>;
}

export interface ContextHandle {
  ctx: JobContext;
  /** The context's transaction, if the job used it. */
  transaction(): Transaction | undefined;
}

/** The context of one run of the job function (or of a hook / callback), in a transaction of its own. */
export function contextFor(scope: JobScope, retry: number): ContextHandle {
  let tx: Transaction | undefined;
  const transaction = (): Transaction => (tx ??= scope.begin());
  const { request } = scope;
  const ctx: JobContext = {
    site: request.site,
    jobId: request.id,
    queue: request.queue,
    method: request.method,
    jobName: request.jobName,
    user: request.user,
    attempt: request.attempt,
    timeout: request.timeout,
    config: scope.config,
    retry,
    get log() {
      return scope.log();
    },
    get signal() {
      return scope.control.signal;
    },
    get db() {
      return transaction();
    },
    enqueue: (method, options) => scope.enqueue(method, options),
    afterCommit: (callback) => transaction().afterCommit(callback),
    enqueueAfterCommit: (method, options) => transaction().enqueueAfterCommit(method, options),
    publishRealtime: (event: string, message?: unknown, options: TransactionalRealtimeOptions = {}) =>
      // Frappe's msgprint goes to the current user when no room or user is given.
      transaction().publishRealtime(event, message, event === 'msgprint' && options.user === undefined && options.room === undefined ? { ...options, user: request.user } : options),
  };
  return { ctx, transaction: () => tx };
}

export function jobInfo(request: ExecutionRequest, kwargs: Record<string, unknown>): JobInfo {
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
