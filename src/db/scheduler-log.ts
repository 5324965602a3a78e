// The scheduler's two tables in each site's database (Frappe's Scheduled Job Type and Scheduled Job
// Log), created when missing, in SQL both SQLite and PostgreSQL take. Times are epoch milliseconds.
// The scheduler (src/scheduler/records.ts) writes the job types and a log row per tick of a method
// (Queued or Skipped); the worker running a scheduled job (jobs/execute.ts) moves its row to Start,
// then Complete or Failed, here: so a row's start, end and status are those of the real run.
import { serializeError } from '../errors.js';
import type { SiteDatabase } from './site-db.js';
import type { Dialect } from './types.js';

export const JOB_TYPE_TABLE = 'scheduled_job_type';
export const JOB_LOG_TABLE = 'scheduled_job_log';

/** Status of a log row: Queued (enqueued by a tick), Start, Complete, Failed, Skipped (not enqueued). */
export type ScheduledRunStatus = 'Queued' | 'Start' | 'Complete' | 'Failed' | 'Skipped';

function createStatements(dialect: Dialect): string[] {
  const id = dialect === 'postgres' ? 'id BIGSERIAL PRIMARY KEY' : 'id INTEGER PRIMARY KEY AUTOINCREMENT';
  return [
    `CREATE TABLE IF NOT EXISTS ${JOB_TYPE_TABLE} (
      name TEXT PRIMARY KEY,
      app TEXT NOT NULL,
      method TEXT NOT NULL,
      frequency TEXT NOT NULL,
      cron TEXT NOT NULL,
      queue TEXT NOT NULL,
      last_execution BIGINT,
      next_execution BIGINT,
      last_job_id TEXT,
      last_queue TEXT,
      stopped INTEGER NOT NULL DEFAULT 0,
      creation BIGINT NOT NULL,
      modified BIGINT NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS ${JOB_LOG_TABLE} (
      ${id},
      scheduled_job_type TEXT NOT NULL,
      method TEXT NOT NULL,
      scheduled_for BIGINT NOT NULL,
      job_id TEXT,
      status TEXT NOT NULL,
      creation BIGINT NOT NULL,
      start_time BIGINT,
      end_time BIGINT,
      error TEXT,
      stack TEXT,
      details TEXT,
      scheduler TEXT
    )`,
    `CREATE UNIQUE INDEX IF NOT EXISTS ${JOB_LOG_TABLE}_job_id ON ${JOB_LOG_TABLE} (job_id)`,
    `CREATE INDEX IF NOT EXISTS ${JOB_LOG_TABLE}_type ON ${JOB_LOG_TABLE} (scheduled_job_type, scheduled_for)`,
  ];
}

/** Databases whose tables are known to exist (checked once per process). */
const ensured = new WeakSet<SiteDatabase>();

/** Create the two tables (and their indexes) when missing. */
export async function ensureSchedulerTables(db: SiteDatabase): Promise<void> {
  if (ensured.has(db)) return;
  for (const sql of createStatements(db.dialect)) await db.exec(sql);
  ensured.add(db);
}

/** The run of scheduled job `jobId` started (again, after its worker died) in a worker. */
export async function markRunStarted(db: SiteDatabase, jobId: string, at: number = Date.now()): Promise<void> {
  await ensureSchedulerTables(db);
  await db.run(`UPDATE ${JOB_LOG_TABLE} SET status = ?, start_time = ?, end_time = NULL, error = NULL, stack = NULL WHERE job_id = ?`, [
    'Start',
    at,
    jobId,
  ]);
}

/** The run of scheduled job `jobId` ended: Complete, or Failed with `error` (message and stack). */
export async function markRunEnded(db: SiteDatabase, jobId: string, error: unknown, at: number = Date.now()): Promise<void> {
  await ensureSchedulerTables(db);
  if (error === undefined) {
    await db.run(`UPDATE ${JOB_LOG_TABLE} SET status = ?, end_time = ? WHERE job_id = ?`, ['Complete', at, jobId]);
    return;
  }
  const err = serializeError(error);
  const message = `${err.name}${err.code === undefined ? '' : ` [${err.code}]`}: ${err.message}`;
  await db.run(`UPDATE ${JOB_LOG_TABLE} SET status = ?, end_time = ?, error = ?, stack = ? WHERE job_id = ?`, [
    'Failed',
    at,
    message,
    err.stack ?? null,
    jobId,
  ]);
}
