// Retry policy of a job (beyond Frappe, which only retries deadlocks inside one run): how many times
// a failed job is scheduled again and after how long. Stored on the job as JSON; applied by the
// worker through the delayed set when the job fails.
import { BenchError } from '../errors.js';
import { checkRange, RETRY_WAIT_RANGE, inRange, MAX_DELAY_SECONDS, MAX_RETRIES, MAX_RETRY_INTERVALS, wholeRange } from '../util/limits.js';
import type { RetryPolicy } from '../vocabulary.js';

const DEFAULT_DELAY_SECONDS = 2;

/** Check a retry option (a count or a policy) and return its stored JSON, or undefined for none. */
export function retryPolicyJson(retry: number | RetryPolicy | undefined): string | undefined {
  if (retry === undefined) return undefined;
  const policy: RetryPolicy = typeof retry === 'number' ? { max: retry } : retry;
  const bad = (what: string) => new BenchError('ERR_ENQUEUE_INVALID', `retry: ${what}`);
  checkRange(policy.max, 'retry: max', wholeRange(0, MAX_RETRIES), 'ERR_ENQUEUE_INVALID');
  if (policy.max === 0) return undefined;
  if (
    policy.intervals !== undefined &&
    (!Array.isArray(policy.intervals) || policy.intervals.length === 0 || policy.intervals.length > MAX_RETRY_INTERVALS || !policy.intervals.every((s) => inRange(s, RETRY_WAIT_RANGE)))
  ) {
    throw bad(`intervals must be a list of 1 to ${MAX_RETRY_INTERVALS} waits, each seconds from 0 to ${MAX_DELAY_SECONDS} (365 days)`);
  }
  if (policy.backoff !== undefined && policy.backoff !== 'exponential' && policy.backoff !== 'fixed') throw bad('backoff must be "exponential" or "fixed"');
  if (policy.delay !== undefined) checkRange(policy.delay, 'retry: delay', RETRY_WAIT_RANGE, 'ERR_ENQUEUE_INVALID');
  return JSON.stringify(policy);
}

/**
 * Milliseconds to wait before retry number `retriesDone + 1` (at most 365 days: an exponential backoff
 * grows past any bound), or undefined when retries ran out.
 */
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
  return Math.max(1, Math.round(Math.min(seconds, MAX_DELAY_SECONDS) * 1000 * spread));
}
