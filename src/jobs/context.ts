// Builds the JobContext a job (and its hooks and callbacks) receives: the fixed facts of the job plus
// the transaction it runs in (ctx.db, afterCommit, enqueueAfterCommit, publishRealtime). What costs
// something to make (the job's logger, its AbortSignal, the transaction, a bound method) is made on
// first use: most jobs never touch some of them, and a worker process runs tens of thousands of jobs
// a second. Its members can be destructured (`{ db, log, enqueue }`); a spread copies only the plain
// facts (site, jobId, ...), not the members made on use.
import type { Transaction, AfterCommitCallback } from '../db/transaction.js';
import type { Logger } from '../log/logger.js';
import type { EnqueueOptions, JobMethod } from '../vocabulary.js';
import type { TransactionalRealtimeOptions } from '../realtime/realtime.js';
import type { ExecutionRequest } from './request.js';
import type { JobContext, JobInfo, ProgressOptions } from './types.js';

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
  readonly request: ExecutionRequest;
  /** The site's merged config. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly control: JobControl;
  /** The job's logger (jobId, site, queue and method bound), made on first call. */
  log(): Logger;
  /** A new transaction on the site's database. */
  begin(): Transaction;
  enqueue(method: JobMethod, options?: Partial<EnqueueOptions>): Promise<string>;
}

/** The context of one run of the job function (or of a hook / callback), in a transaction of its own. */
export class Context implements JobContext {
  readonly site: string;
  readonly jobId: string;
  readonly queue: string;
  readonly method: string;
  readonly jobName: string;
  readonly user: string | undefined;
  readonly attempt: number;
  readonly timeout: number;
  readonly config: Readonly<Record<string, unknown>>;
  readonly retry: number;
  #tx: Transaction | undefined;
  readonly #scope: JobScope;

  constructor(scope: JobScope, retry: number) {
    const { request } = scope;
    this.site = request.site;
    this.jobId = request.id;
    this.queue = request.queue;
    this.method = request.method;
    this.jobName = request.jobName;
    this.user = request.user;
    this.attempt = request.attempt;
    this.timeout = request.timeout;
    this.config = scope.config;
    this.retry = retry;
    this.#scope = scope;
  }

  /** The transaction, if the job used it. */
  get begun(): Transaction | undefined {
    return this.#tx;
  }

  get log(): Logger {
    return this.#scope.log();
  }

  get signal(): AbortSignal {
    return this.#scope.control.signal;
  }

  get db(): Transaction {
    return this.transaction();
  }

  get enqueue(): (method: JobMethod, options?: Partial<EnqueueOptions>) => Promise<string> {
    return (method, options) => this.#scope.enqueue(method, options);
  }

  get afterCommit(): (callback: AfterCommitCallback) => void {
    return (callback) => this.transaction().afterCommit(callback);
  }

  get enqueueAfterCommit(): (method: JobMethod, options?: Partial<EnqueueOptions>) => void {
    return (method, options) => this.transaction().enqueueAfterCommit(method, options);
  }

  get publishRealtime(): (event: string, message?: unknown, options?: TransactionalRealtimeOptions) => Promise<void> {
    return (event, message, options = {}) =>
      // Frappe's msgprint goes to the current user when no room or user is given.
      this.transaction().publishRealtime(event, message, event === 'msgprint' && options.user === undefined && options.room === undefined ? { ...options, user: this.user } : options);
  }

  get publishProgress(): (percent: number, options?: ProgressOptions) => Promise<void> {
    return (percent, options = {}) => {
      // frappe.publish_progress: the document's room when there is one, else the session user's.
      const doc = this.#scope.request.doc;
      const doctype = options.doctype ?? (options.docname === undefined ? doc?.doctype : undefined);
      const docname = options.docname ?? (options.doctype === undefined ? doc?.name : undefined);
      const onDoc = doctype !== undefined && docname !== undefined;
      const message = { percent, title: options.title ?? null, description: options.description ?? null };
      return this.transaction().publishRealtime('progress', message, { doctype, docname, user: onDoc ? undefined : this.user, taskId: options.taskId });
    };
  }

  private transaction(): Transaction {
    this.#tx ??= this.#scope.begin();
    return this.#tx;
  }
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
