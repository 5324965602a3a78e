// The shared vocabulary of bench-worker: the types that the producer, the worker, the database layer
// and app code all speak (a job method, enqueue options, the job record, a retry policy, a stored
// error). A leaf module: it imports nothing of the project, so any layer may import it.

/** A dotted path ("myapp.tasks.process_data") or a function exported by an app module. */
export type JobMethod = string | ((...args: never[]) => unknown);

/**
 * The kwargs a method takes: a function's first parameter (so that `tsc --strict` rejects wrong kwargs
 * when a job is enqueued by function reference), any JSON object for a dotted path.
 */
export type KwargsOf<M> = M extends (kwargs: infer K, ...rest: never[]) => unknown ? (K extends object ? K : Record<string, unknown>) : Record<string, unknown>;

export interface EnqueueOptions<K extends object = Record<string, unknown>> {
  /** Site the job runs for (required). */
  site: string;
  /** short | default | long | a custom queue from `workers`. Default: "default". */
  queue?: string;
  /** Seconds; default: the queue's timeout. */
  timeout?: number;
  /** Your id for the job; stored site-namespaced as `site||jobId`. Default: 22 random base64url characters starting with a letter. */
  jobId?: string;
  /** With jobId: skip (resolve to undefined) when a job with that id is queued, scheduled or running. */
  deduplicate?: boolean;
  /** Display name (Frappe's job_name). Default: the method path. */
  jobName?: string;
  /** Put the job at the front of its queue. */
  atFront?: boolean;
  /** Put the job at the front only when the queue holds more than 16 jobs (interactive jobs). */
  atFrontWhenStarved?: boolean;
  /** User the job runs as (ctx.user). */
  user?: string;
  /** Arguments passed to the method: a JSON object (typed from the method when it is a function). */
  kwargs?: K;
  /** Stored with the job (Frappe's event); `purge-jobs --event` filters on it. */
  event?: string;
  /** Run after the job succeeds / fails, in the worker: (job, result) / (job, error). */
  onSuccess?: JobMethod;
  onFailure?: JobMethod;
  /** Run the job this many seconds from now (enqueueIn). */
  inSeconds?: number;
  /** Run the job at this time (enqueueAt). */
  at?: Date;
  /** Schedule a failed job again: a number of retries (exponential backoff) or a policy. */
  retry?: number | RetryPolicy;
  /** enqueueDoc: the document whose controller method `method` names. */
  doc?: { doctype: string; name: string };
  /** Run inline in the caller (no Redis) and resolve to the method's result (Frappe's now=True). */
  now?: boolean;
  /** false: the same as now (Frappe's is_async=False). */
  isAsync?: boolean;
}

export type EnqueueManyOptions = Omit<EnqueueOptions, 'kwargs' | 'jobId' | 'deduplicate' | 'now' | 'isAsync'> & {
  /** How an error names entry `index` (0-based) of the list: `entry N` by default (the CLI says `file: line L`). */
  describeEntry?: (index: number) => string;
  /**
   * The resume token of an earlier call with this same list that stopped part way (its error,
   * ERR_ENQUEUE_INCOMPLETE, gives it in `details.resumeToken`): writes exactly the jobs that call did not.
   */
  resume?: string;
};

export interface RetryPolicy {
  /** Retries after the first failure (so at most max + 1 runs). */
  max: number;
  /** Seconds to wait before retry 1, 2, ...; the last one repeats. Wins over backoff. */
  intervals?: number[];
  /** 'exponential': delay * 2^(n-1) seconds before retry n. Default when intervals are not given. */
  backoff?: 'exponential' | 'fixed';
  /** Base delay in seconds (default 2). */
  delay?: number;
  /** Spread each wait randomly by up to +-25% (default true), so failed bursts do not retry together. */
  jitter?: boolean;
}

/** scheduled: waiting in the delayed set (enqueueIn/enqueueAt, or a retry after an error). */
export type JobStatus = 'queued' | 'started' | 'finished' | 'failed' | 'stopped' | 'scheduled' | 'canceled';

export interface JobRecord {
  /** Full, site-namespaced id: `<site>||<id>`. */
  id: string;
  site: string;
  queue: string;
  /** Dotted path of the function to run, e.g. `myapp.tasks.process_data`. */
  method: string;
  /** Display name (Frappe's job_name); defaults to the method. */
  jobName: string;
  kwargs: unknown;
  /** Seconds the job may run before it is killed. */
  timeout: number;
  user: string | undefined;
  status: JobStatus;
  /** Epoch ms, Redis clock. */
  createdAt: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
  /** How many times a worker claimed it. */
  attempts: number;
  /** How many times its executor died under it. */
  stalls: number;
  worker: string | undefined;
  result: unknown;
  error: SerializedError | undefined;
  /** Its site's rq_job_failure_ttl when that overrides the bench's; undefined: the site's config gives it. */
  failureTtl: number | undefined;
  /** Frappe's `event` (purge-jobs --event filters on it). */
  event: string | undefined;
  onSuccess: string | undefined;
  onFailure: string | undefined;
  /** enqueueDoc target. */
  doctype: string | undefined;
  docname: string | undefined;
  /** When a scheduled job is due (epoch ms). */
  runAt: number | undefined;
  /** Errors of earlier attempts that were retried (oldest first). */
  errors: SerializedError[];
  /** JSON of the retry policy, when the job has one. */
  retry: string | undefined;
  /** Retries its retry policy has used so far. */
  retries: number;
}

/** A thrown value as a plain record (name, message, stack, code), safe to store as JSON. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}
