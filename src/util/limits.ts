// The bounds of every number a user gives bench-worker (config keys, CLI flags, API options) and the one
// check of a number against its range. Unbounded numbers broke in quiet ways: a timer longer than Node's
// limit fires at once, a count of 1e308 passes every comparison, a string "60" compares as a number.
import { BenchError, type BenchErrorCode } from '../errors.js';
import { kindOf, quoted } from './text.js';

const DAY_SECONDS = 24 * 60 * 60;

/** Node's longest timer: setTimeout(fn, ms) with a larger ms fires after 1 ms (src/util/long-timeout.ts chains). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Longest job timeout, and the longest timeout of a queue: 30 days. */
export const MAX_JOB_TIMEOUT_SECONDS = 30 * DAY_SECONDS;
/** Longest retry wait, wait for a job, and result or failure TTL: 365 days. */
export const MAX_DELAY_SECONDS = 365 * DAY_SECONDS;
/** Furthest ahead a job can be scheduled (enqueueIn, enqueueAt, --in, --at): 100 years, in the delayed set, no timer. */
export const MAX_SCHEDULE_SECONDS = 100 * 365 * DAY_SECONDS;
/** Most worker processes of one `bench worker` (and `background_workers` of a group). */
export const MAX_WORKER_PROCESSES = 1024;
/** Most jobs one worker process runs at once. */
export const MAX_CONCURRENCY = 1000;
/** Most retries of a job's retry policy. */
export const MAX_RETRIES = 1000;
/** Most waits listed in a retry policy's intervals. */
export const MAX_RETRY_INTERVALS = 100;
/** Most jobs one page of `jobs list` shows, and the largest offset. */
export const MAX_LIST_LIMIT = 10_000;
export const MAX_LIST_OFFSET = 1_000_000_000;

export interface NumberRange {
  min: number;
  max: number;
  /** Whole numbers only. */
  whole: boolean;
  /** `min` itself is refused (seconds "greater than 0"). */
  minExclusive?: boolean;
  /** What the number counts, for messages: "seconds", "bytes". */
  unit?: string;
  /** A reading of `max` for people: "30 days". */
  maxNote?: string;
}

/** Whole numbers from `min` to `max`. */
export function wholeRange(min: number, max: number, unit?: string, maxNote?: string): NumberRange {
  return { min, max, whole: true, ...(unit !== undefined && { unit }), ...(maxNote !== undefined && { maxNote }) };
}

/** Seconds greater than 0 (fractions allowed) up to `max`. */
export function secondsRange(max: number, maxNote?: string): NumberRange {
  return { min: 0, max, whole: false, minExclusive: true, unit: 'seconds', ...(maxNote !== undefined && { maxNote }) };
}

/** A job's timeout given to the API (fractions allowed). */
export const JOB_TIMEOUT_RANGE = secondsRange(MAX_JOB_TIMEOUT_SECONDS, '30 days');
/** A job's timeout in whole seconds: a queue's in config, `--timeout`. */
export const WHOLE_TIMEOUT_RANGE = wholeRange(1, MAX_JOB_TIMEOUT_SECONDS, 'seconds', '30 days');
/** How far ahead a job is scheduled (inSeconds, --in, at). */
export const SCHEDULE_RANGE: NumberRange = { min: 0, max: MAX_SCHEDULE_SECONDS, whole: false, unit: 'seconds', maxNote: '100 years' };
/** A wait of a retry policy (an interval, the base delay). */
export const RETRY_WAIT_RANGE: NumberRange = { min: 0, max: MAX_DELAY_SECONDS, whole: false, unit: 'seconds', maxNote: '365 days' };
/** How long waitForJob waits. */
export const WAIT_RANGE = secondsRange(MAX_DELAY_SECONDS, '365 days');
export const WORKER_PROCESSES_RANGE = wholeRange(1, MAX_WORKER_PROCESSES);
export const CONCURRENCY_RANGE = wholeRange(1, MAX_CONCURRENCY);
/** A retry count: `--retry` (the API's retry.max may also be 0: no retry). */
export const RETRIES_RANGE = wholeRange(1, MAX_RETRIES);
/** How long stopJob waits for a worker to stop the job (ms). */
export const STOP_WAIT_MS_RANGE: NumberRange = { min: 0, max: 3_600_000, whole: false, minExclusive: true, unit: 'milliseconds', maxNote: '1 hour' };
export const LIST_LIMIT_RANGE = wholeRange(1, MAX_LIST_LIMIT);
export const LIST_OFFSET_RANGE = wholeRange(0, MAX_LIST_OFFSET);

export function inRange(value: unknown, range: NumberRange): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (range.whole && !Number.isInteger(value)) return false;
  if (range.minExclusive ? value <= range.min : value < range.min) return false;
  return value <= range.max;
}

/** "a whole number from 1 to 100", "a number of seconds greater than 0 and at most 2592000 (30 days)". */
export function describeRange(range: NumberRange): string {
  const what = `${range.whole ? 'a whole number' : 'a number'}${range.unit ? ` of ${range.unit}` : ''}`;
  const max = `${range.max}${range.maxNote ? ` (${range.maxNote})` : ''}`;
  return range.minExclusive ? `${what} greater than ${range.min} and at most ${max}` : `${what} from ${range.min} to ${max}`;
}

/**
 * `value` when it is in `range`; else a BenchError `code` saying "`what` must be <range>, found <value>".
 * A string from the command line is shown as given.
 */
export function checkRange(value: unknown, what: string, range: NumberRange, code: BenchErrorCode, options: { exitCode?: number; given?: string } = {}): number {
  if (inRange(value, range)) return value;
  const found = options.given !== undefined ? quoted(options.given) : typeof value === 'string' ? `${quoted(value)} (a string)` : typeof value === 'number' ? String(value) : kindOf(value);
  throw new BenchError(code, `${what} must be ${describeRange(range)}, found ${found}`, {
    ...(options.exitCode !== undefined && { exitCode: options.exitCode }),
    details: { what, min: range.min, max: range.max },
  });
}
