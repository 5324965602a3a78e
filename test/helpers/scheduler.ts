// Scheduler tests: an app with scheduler_events written into a test bench (not a shared fixture, so no
// other test's bench gets a scheduler app), the site's scheduled_job_log read straight from its SQLite
// file, and the holder of the bench's scheduler lease.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { benchKeys } from '../../src/redis/keys.ts';
import type { TestBench } from './bench.ts';

/** Write apps/schedapp with `hooks` (the hooks module's source) and tasks.mjs (noop, slow). */
export function writeSchedApp(bench: TestBench, hooks: string): void {
  const dir = path.join(bench.path, 'apps', 'schedapp', 'schedapp');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'hooks.mjs'), hooks);
  writeFileSync(
    path.join(dir, 'tasks.mjs'),
    `export function noop() { return 1; }
export async function slow(_kwargs, ctx) {
  await new Promise((resolve) => { const t = setTimeout(resolve, 120000); ctx.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }); });
}
`,
  );
}

export interface LogRow {
  id: number;
  scheduled_job_type: string;
  scheduled_for: number;
  job_id: string | null;
  status: string;
  start_time: number | null;
  end_time: number | null;
  details: string | null;
  scheduler: string | null;
}

/** Every scheduled_job_log row of `site` (none when the table does not exist yet). */
export function readLog(bench: TestBench, site: string): LogRow[] {
  let db: Database.Database;
  try {
    db = new Database(path.join(bench.path, 'sites', site, 'site.db'), { readonly: true, fileMustExist: true });
  } catch {
    return [];
  }
  try {
    const exists = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'scheduled_job_log'").get();
    return exists ? (db.prepare('SELECT * FROM scheduled_job_log ORDER BY id').all() as LogRow[]) : [];
  } catch {
    return [];
  } finally {
    db.close();
  }
}

/** Pid of the `bench schedule` holding the lease, if any. */
export async function leasePid(redis: Redis, benchId: string): Promise<number | undefined> {
  const raw = await redis.get(benchKeys(benchId).schedulerLease);
  return raw === null ? undefined : (JSON.parse(raw) as { pid: number }).pid;
}
