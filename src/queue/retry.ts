// Retry policy of a job (beyond Frappe, which only retries deadlocks inside one run): how many times
// a failed job is scheduled again and after how long. Stored on the job as JSON; applied by the
// worker through the delayed set when the job fails.
import { BenchError } from '../errors.js';
import type { RetryPolicy } from '../vocabulary.js';

const DEFAULT_DELAY_SECONDS = 2;

/** Check a retry option (a count or a policy) and return its stored JSON, or undefined for none. */
export function retryPolicyJson(retry: number | RetryPolicy | undefined): string | undefined {
  if (retry === undefined) return undefined;
  const policy: RetryPolicy = typeof retry === 'number' ? { max: retry } : retry;
  const bad = (what: string) => new BenchError('ERR_ENQUEUE_INVALID', `retry: ${what}`);
  if (!Number.isInteger(policy.max) || policy.max < 0) throw bad(`max must be a whole number, 0 or more (found ${String(policy.max)})`);
  if (policy.max === 0) return undefined;
  if (policy.intervals !== undefined && (!Array.isArray(policy.intervals) || policy.intervals.length === 0 || !policy.intervals.every((s) => Number.isFinite(s) && s >= 0))) {
    throw bad('intervals must be a non-empty list of seconds (0 or more)');
  }
  if (policy.backoff !== undefined && policy.backoff !== 'exponential' && policy.backoff !== 'fixed') throw bad('backoff must be "exponential" or "fixed"');
  if (policy.delay !== undefined && !(Number.isFinite(policy.delay) && policy.delay >= 0)) throw bad('delay must be seconds, 0 or more');
  return JSON.stringify(policy);
}

/** Milliseconds to wait before retry number `retriesDone + 1`, or undefined when retries ran out. */
export function nextRetryDelayMs(policyJson: string | undefined, retriesDone: number, random: () => number = Math.random): number | undefined {
  if (!policyJson) return undefined;
  const policy = JSON.parse(policyJson) as RetryPolicy;
  if (retriesDone >= policy.max) return undefined;
  let seconds: number;
  if (policy.intervals?.length) {
    seconds = policy.intervals[Math.min(retriesDone, policy.intervals.length - 1)] as number;
  } else {
    const base = policy.delay ?? DEFAULT_DELAY_SECONDS;
    seconds = policy.backoff === 'fixed' ? base : base * 2 ** retriesDone;
  }
  const spread = policy.jitter === false ? 1 : 0.75 + random() * 0.5;
  return Math.max(1, Math.round(seconds * 1000 * spread));
}
