// Which errors mean "roll back and try the job again" (Frappe retries a job on a deadlock, a lock
// wait timeout or frappe.RetryBackgroundJobError): RetryBackgroundJobError, SQLite's SQLITE_BUSY /
// SQLITE_LOCKED family, and PostgreSQL's serialization_failure (40001), deadlock_detected (40P01)
// and lock_not_available (55P03). An error wrapping one of these (through `cause`) counts too.
import { isBenchError } from '../errors.js';

const PG_RETRYABLE = new Set(['40001', '40P01', '55P03']);
const MAX_CAUSE_DEPTH = 5;

/** What kind of retryable conflict `err` is, or undefined when it is not one. */
export function retryableConflict(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && typeof current === 'object' && current !== null; depth++) {
    const kind = directConflict(current);
    if (kind !== undefined) return kind;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function directConflict(err: object): string | undefined {
  if (isBenchError(err) && err.code === 'ERR_RETRY_BACKGROUND_JOB') return 'RetryBackgroundJobError';
  if ((err as { name?: unknown }).name === 'RetryBackgroundJobError') return 'RetryBackgroundJobError';
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return code;
  if (PG_RETRYABLE.has(code) && 'severity' in err) return `postgres ${code}`;
  return undefined;
}
