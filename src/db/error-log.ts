// Frappe's frappe.log_error for failed jobs: one row in the site database's `error_log` table
// (created when missing), written in a transaction of its own after the job's was rolled back.
import { serializeError } from '../errors.js';
import type { SiteDatabase } from './site-db.js';
import type { Dialect } from './types.js';

export const ERROR_LOG_TABLE = 'error_log';

const CREATE: Record<Dialect, string> = {
  sqlite: `CREATE TABLE IF NOT EXISTS ${ERROR_LOG_TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    creation TEXT NOT NULL,
    method TEXT NOT NULL,
    job_id TEXT,
    error TEXT NOT NULL,
    stack TEXT
  )`,
  postgres: `CREATE TABLE IF NOT EXISTS ${ERROR_LOG_TABLE} (
    id BIGSERIAL PRIMARY KEY,
    creation TIMESTAMPTZ NOT NULL,
    method TEXT NOT NULL,
    job_id TEXT,
    error TEXT NOT NULL,
    stack TEXT
  )`,
};

export interface ErrorLogEntry {
  method: string;
  jobId: string | undefined;
  error: unknown;
}

/** Databases whose error_log table is known to exist (checked once per process). */
const ensured = new WeakSet<SiteDatabase>();

/** Create the error_log table when missing (a new site's database gets it at once). */
export async function ensureErrorLogTable(db: SiteDatabase): Promise<void> {
  await db.exec(CREATE[db.dialect]);
  ensured.add(db);
}

/** Insert the row; rejects if it cannot (the caller logs that and keeps the job's own error). */
export async function writeErrorLog(db: SiteDatabase, entry: ErrorLogEntry): Promise<void> {
  const err = serializeError(entry.error);
  const error = `${err.name}${err.code === undefined ? '' : ` [${err.code}]`}: ${err.message}`;
  await db.transaction(async (tx) => {
    if (!ensured.has(db)) await tx.exec(CREATE[db.dialect]);
    await tx.run(`INSERT INTO ${ERROR_LOG_TABLE} (creation, method, job_id, error, stack) VALUES (?, ?, ?, ?, ?)`, [
      new Date(),
      entry.method,
      entry.jobId ?? null,
      error,
      err.stack ?? null,
    ]);
  });
  ensured.add(db);
}
