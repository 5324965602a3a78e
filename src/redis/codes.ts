// The reply codes of every Lua script, by name: one table here and its twin in lua/includes/codes.lua
// (a unit test keeps them equal). Scripts return these instead of bare integers whose meaning would
// change from script to script, and callers compare against the names.
export const ScriptCode = {
  /** Done: the job finished, was queued, requeued or released; the batch was claimed. */
  OK: 1,
  /** A failed job was scheduled to run again under its retry policy. */
  RETRY_SCHEDULED: 2,
  /** A hand-back found the job past its crash limit: it failed as abandoned instead. */
  ABANDONED: 3,
  /** This same request was applied before (a replay after a lost reply): nothing written. */
  REPLAYED: 4,
  /** Every job of an enqueue call was written (the number of jobs follows the code). */
  ALL_OK: 5,
  /** No such job (its hash is gone). */
  NO_JOB: -1,
  /** The caller no longer holds the job: its claim token differs, or it is not running. */
  LEASE_LOST: -2,
  /** A queued, scheduled or running job already has this id. */
  JOB_EXISTS: -3,
  /** The job's status does not allow this action (the status follows the code). */
  WRONG_STATE: -4,
  /** The calling worker process's liveness stamp is gone: it may claim nothing more. */
  OWNER_LOST: -5,
  /** The queue holds max_queued_jobs or more (its length follows the code). */
  QUEUE_FULL: -10,
  /** Another process holds the lock of this periodic task. */
  LOCKED: -11,
  /** A call of a bulk request whose earlier calls are not all written: nothing written (the progress follows). */
  OUT_OF_ORDER: -12,
  /** A bulk request's progress record belongs to another request (a resume of a different file): nothing written. */
  RESUME_MISMATCH: -13,
  /** An id was not where the caller saw it in a wait list, nor near there (the list moved): nothing written. */
  MOVED: -14,
  /** The site's lane of the queue holds max_queued_jobs_per_site or more (its length follows the code). */
  SITE_FULL: -15,
} as const;

export type ScriptCodeName = keyof typeof ScriptCode;
export type ScriptCodeValue = (typeof ScriptCode)[ScriptCodeName];

const NAMES = new Map<number, ScriptCodeName>(Object.entries(ScriptCode).map(([name, value]) => [value, name as ScriptCodeName]));

/** The name of a reply code, for logs and errors ("LEASE_LOST"); "UNKNOWN(n)" for anything else. */
export function scriptCodeName(code: unknown): string {
  return NAMES.get(Number(code)) ?? `UNKNOWN(${String(code)})`;
}
