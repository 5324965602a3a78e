// Messages between a worker supervisor and its job-running child processes (Node IPC).
import type { SerializedError } from '../errors.js';

/** What a child needs to run one job. kwargs stays a JSON string until the child parses it. */
export interface RunRequest {
  t: 'run';
  id: string;
  site: string;
  queue: string;
  method: string;
  jobName: string;
  kwargs: string;
  user: string | undefined;
  timeout: number;
  attempt: number;
  /** Frappe's `event`, stored with the job. */
  event: string | undefined;
  /** Dotted paths of callbacks run after the job (their errors never change its outcome). */
  onSuccess: string | undefined;
  onFailure: string | undefined;
  /** enqueueDoc: the document whose controller method `method` names. */
  doc: { doctype: string; name: string } | undefined;
}

export interface AbortRequest {
  t: 'abort';
  id: string;
  reason: string;
}

/**
 * A job failed without its own epilogue because its child was killed under it (timeout past the
 * grace period, or abandoned after crashes): a live child writes its Error Log row, runs its
 * after_job hooks and onFailure callback, and publishes job_failed.
 */
export interface EpilogueRequest {
  t: 'epilogue';
  job: RunRequest;
  error: SerializedError;
}

export type ToChild = RunRequest | AbortRequest | EpilogueRequest;

/** A job's outcome, with the child's resident memory (bytes) so the supervisor can recycle it. */
export type JobReply =
  | { t: 'done'; id: string; rss: number; ok: true; result: string }
  | { t: 'done'; id: string; rss: number; ok: false; error: SerializedError };

export type FromChild = { t: 'ready' } | JobReply | { t: 'epilogue-done'; id: string };
