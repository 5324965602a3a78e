// The scheduler's rows in a site's database (tables in db/scheduler-log.ts): the job types synced from
// the hooks, the claim of a run (an UPDATE that moves last_execution forward only: whoever claims a
// fire time first runs it, every other holder sees 0 rows changed), and the log rows of each tick.
import { ensureSchedulerTables, JOB_LOG_TABLE, JOB_TYPE_TABLE, type ScheduledRunStatus } from '../db/scheduler-log.js';
import type { SiteDatabase } from '../db/site-db.js';
import type { ScheduledJobType } from './events.js';

/** A scheduled_job_type row as read back (times in epoch ms). */
export interface JobTypeRow {
  name: string;
  app: string;
  method: string;
  frequency: string;
  cron: string;
  queue: string;
  lastExecution: number | undefined;
  nextExecution: number | undefined;
  lastJobId: string | undefined;
  lastQueue: string | undefined;
  stopped: boolean;
  creation: number;
}

export interface LogEntry {
  jobType: string;
  method: string;
  scheduledFor: number;
  jobId: string | undefined;
  status: ScheduledRunStatus;
  details?: string;
  error?: string;
  scheduler: string;
}

/** Every job type row of the site. */
export async function readJobTypes(db: SiteDatabase): Promise<Map<string, JobTypeRow>> {
  await ensureSchedulerTables(db);
  const rows = await db.query(`SELECT * FROM ${JOB_TYPE_TABLE}`);
  return new Map(rows.map((row) => [String(row['name']), toJobType(row)]));
}

/**
 * Bring the table in line with the hooks: new job types are inserted (first seen at `now`), changed
 * ones updated; the types of `loadedApps` that their hooks no longer list are deleted (an app whose
 * hooks failed to load keeps its rows). Resolves to the rows after the sync.
 */
export async function syncJobTypes(
  db: SiteDatabase,
  types: readonly ScheduledJobType[],
  loadedApps: readonly string[],
  now: number,
  nextOf: (type: ScheduledJobType, after: number) => number | undefined,
): Promise<Map<string, JobTypeRow>> {
  const rows = await readJobTypes(db);
  let changed = false;
  for (const type of types) {
    const row = rows.get(type.name);
    if (!row) {
      await db.run(
        `INSERT INTO ${JOB_TYPE_TABLE} (name, app, method, frequency, cron, queue, next_execution, stopped, creation, modified) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
        [type.name, type.app, type.method, type.event, type.cron, type.queue, nextOf(type, now) ?? null, now, now],
      );
      changed = true;
    } else if (row.app !== type.app || row.queue !== type.queue || row.cron !== type.cron) {
      await db.run(`UPDATE ${JOB_TYPE_TABLE} SET app = ?, queue = ?, cron = ?, modified = ? WHERE name = ?`, [type.app, type.queue, type.cron, now, type.name]);
      changed = true;
    }
  }
  const listed = new Set(types.map((t) => t.name));
  for (const row of rows.values()) {
    if (!listed.has(row.name) && loadedApps.includes(row.app)) {
      await db.run(`DELETE FROM ${JOB_TYPE_TABLE} WHERE name = ?`, [row.name]);
      changed = true;
    }
  }
  return changed ? readJobTypes(db) : rows;
}

/**
 * Claim the run of `name` due at `fire`: last_execution moves to `fire` only if it is earlier. True
 * when this call claimed it; false when another scheduler (or an earlier tick) already did.
 */
export async function claimRun(db: SiteDatabase, name: string, fire: number, next: number | undefined, jobId: string, queue: string): Promise<boolean> {
  const result = await db.run(
    `UPDATE ${JOB_TYPE_TABLE} SET last_execution = ?, next_execution = ?, last_job_id = ?, last_queue = ?, modified = ?
     WHERE name = ? AND (last_execution IS NULL OR last_execution < ?)`,
    [fire, next ?? null, jobId, queue, Date.now(), name, fire],
  );
  return result.changes === 1;
}

/** A run by hand: remembered as the last run (so the next tick waits for it) without moving the schedule. */
export async function rememberRun(db: SiteDatabase, name: string, jobId: string, queue: string): Promise<void> {
  await db.run(`UPDATE ${JOB_TYPE_TABLE} SET last_job_id = ?, last_queue = ?, modified = ? WHERE name = ?`, [jobId, queue, Date.now(), name]);
}

/** Undo a claim whose enqueue failed, so that the next tick tries again (only if nothing claimed since). */
export async function unclaimRun(db: SiteDatabase, row: JobTypeRow, jobId: string): Promise<void> {
  await db.run(
    `UPDATE ${JOB_TYPE_TABLE} SET last_execution = ?, next_execution = ?, last_job_id = ?, last_queue = ? WHERE name = ? AND last_job_id = ?`,
    [row.lastExecution ?? null, row.nextExecution ?? null, row.lastJobId ?? null, row.lastQueue ?? null, row.name, jobId],
  );
}

export async function writeLog(db: SiteDatabase, entry: LogEntry): Promise<void> {
  await db.run(
    `INSERT INTO ${JOB_LOG_TABLE} (scheduled_job_type, method, scheduled_for, job_id, status, creation, details, error, scheduler) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [entry.jobType, entry.method, entry.scheduledFor, entry.jobId ?? null, entry.status, Date.now(), entry.details ?? null, entry.error ?? null, entry.scheduler],
  );
}

/** Delete the log rows written before `before` (epoch ms); resolves to how many went. */
export async function pruneLog(db: SiteDatabase, before: number): Promise<number> {
  return (await db.run(`DELETE FROM ${JOB_LOG_TABLE} WHERE creation < ?`, [before])).changes;
}

/**
 * A Queued row whose enqueue then failed: Failed, with the enqueue's error. Its job id moves to the
 * details, so that the next tick's try of the same fire time (same id) gets a row of its own.
 */
export async function failQueuedLog(db: SiteDatabase, jobId: string, error: string): Promise<void> {
  await db.run(`UPDATE ${JOB_LOG_TABLE} SET status = ?, error = ?, end_time = ?, details = ?, job_id = NULL WHERE job_id = ? AND status = ?`, [
    'Failed',
    error,
    Date.now(),
    `enqueue of ${jobId} failed`,
    jobId,
    'Queued',
  ]);
}

function toJobType(row: Record<string, unknown>): JobTypeRow {
  return {
    name: String(row['name']),
    app: String(row['app']),
    method: String(row['method']),
    frequency: String(row['frequency']),
    cron: String(row['cron']),
    queue: String(row['queue']),
    lastExecution: optionalNumber(row['last_execution']),
    nextExecution: optionalNumber(row['next_execution']),
    lastJobId: optionalString(row['last_job_id']),
    lastQueue: optionalString(row['last_queue']),
    stopped: Number(row['stopped']) === 1,
    creation: Number(row['creation']),
  };
}

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function optionalString(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}
