// Retries inside one job, as Frappe's execute_job does them: on RetryBackgroundJobError or a
// database conflict (here a real SQLITE_BUSY from another process holding the write lock) the
// transaction is rolled back and the job function runs again after 1, 2, 3, 4, 5 s, at most 5
// times and never past the job's timeout; then the job fails with one Error Log row.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { openSqlite } from '../helpers/databases.ts';
import { startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { useBenchSuite } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SITE = 'site1.test';

function tempFile(name: string): string {
  return path.join(os.tmpdir(), `bw-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** The "<retry> <epoch ms>" lines retry_job wrote, as [retry, ms]. */
function runs(file: string): [number, number][] {
  return lines(file)
    .filter((l) => /^\d+ \d+$/.test(l))
    .map((l) => l.split(' ').map(Number) as [number, number]);
}

function values(table: string): string[] {
  const db = openSqlite(suite.bench, SITE);
  try {
    return (db.prepare(`SELECT value FROM ${table} ORDER BY id`).all() as { value: string }[]).map((r) => r.value);
  } finally {
    db.close();
  }
}

function table(name: string): string {
  const db = openSqlite(suite.bench, SITE);
  db.exec(`CREATE TABLE ${name} (id INTEGER PRIMARY KEY AUTOINCREMENT, value TEXT NOT NULL)`);
  db.close();
  return name;
}

const suite = useBenchSuite({ sites: { [SITE]: { sqlite_busy_timeout_ms: 200 } }, linkPackage: true });

describe('retrying a job inside its run', () => {
  it('runs the job again after RetryBackgroundJobError, rolling back each failed try', async () => {
    const file = tempFile('retry-ok');
    const t = table('retry_ok');
    const id = await suite.client.enqueue('dbapp.tasks.retry_job', { site: SITE, kwargs: { file, table: t, succeedAfter: 3 } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished', 30_000);
    assert.deepEqual(job.result, { runs: 3, retry: 2 });
    assert.equal(job.attempts, 1, 'all inside one claim of the job');
    const r = runs(file);
    assert.deepEqual(r.map(([retry]) => retry), [0, 1, 2]);
    const gap1 = (r[1] as [number, number])[1] - (r[0] as [number, number])[1];
    const gap2 = (r[2] as [number, number])[1] - (r[1] as [number, number])[1];
    assert.ok(gap1 >= 950 && gap1 < 1900, `first wait ~1 s, was ${gap1} ms`);
    assert.ok(gap2 >= 1950 && gap2 < 2900, `second wait ~2 s, was ${gap2} ms`);
    assert.deepEqual(values(t), ['run-2'], 'only the last try is committed');
    assert.deepEqual(lines(file).filter((l) => l.startsWith('committed')), ['committed 2'], 'after-commit work of rolled-back tries is dropped');
  });

  it('gives up after 5 retries with waits of 1, 2, 3, 4, 5 s and logs one error', async () => {
    const file = tempFile('retry-fail');
    const t = table('retry_fail');
    const id = await suite.client.enqueue('dbapp.tasks.retry_job', { site: SITE, kwargs: { file, table: t } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed', 40_000);
    assert.equal(job.error?.name, 'RetryBackgroundJobError');
    assert.equal(job.error?.code, 'ERR_RETRY_BACKGROUND_JOB');
    assert.equal(job.error?.message, 'not yet (run 6)');
    const r = runs(file);
    assert.deepEqual(r.map(([retry]) => retry), [0, 1, 2, 3, 4, 5]);
    for (let i = 1; i < r.length; i++) {
      const gap = (r[i] as [number, number])[1] - (r[i - 1] as [number, number])[1];
      assert.ok(gap >= i * 1000 - 50 && gap < i * 1000 + 900, `wait ${i} should be ~${i} s, was ${gap} ms`);
    }
    assert.deepEqual(values(t), []);
    const db = openSqlite(suite.bench, SITE);
    const logged = db.prepare('SELECT count(*) AS n FROM error_log WHERE job_id = ?').get(id) as { n: number };
    db.close();
    assert.equal(logged.n, 1, 'one Error Log row, for the final failure');
  });

  it('never waits past the job timeout', async () => {
    const file = tempFile('retry-timeout');
    const t = table('retry_timeout');
    const started = Date.now();
    // timeout 6 s: tries at 0 s, 1 s (wait 1), 3 s (wait 2); the next wait, 3 s, would reach it. The second
    // wait fits with 3 s to spare, and the third cannot (the third try starts at 3 s or later), so a slow,
    // loaded machine gives the same answer.
    const id = await suite.client.enqueue('dbapp.tasks.retry_job', { site: SITE, timeout: 6, kwargs: { file, table: t } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed', 20_000);
    assert.equal(job.error?.code, 'ERR_RETRY_BACKGROUND_JOB', 'it fails with its own error, before the timeout');
    assert.deepEqual(runs(file).map(([retry]) => retry), [0, 1, 2]);
    assert.ok(Date.now() - started < 10_000);
  });

  it('rolls back and retries on SQLITE_BUSY while another process holds the write lock', async () => {
    const file = tempFile('busy');
    const t = table('busy');
    const holder = openSqlite(suite.bench, SITE);
    holder.exec('BEGIN IMMEDIATE');
    holder.prepare(`INSERT INTO ${t} (value) VALUES ('holder')`).run();
    try {
      const id = await suite.client.enqueue('dbapp.tasks.locked_write', { site: SITE, kwargs: { file, table: t, value: 'job' } });
      const worker = startSupervisor(suite.bench, { burst: true });
      // The first try waits sqlite_busy_timeout_ms (200) for the lock, then fails with SQLITE_BUSY;
      // the retry comes 1 s later. Let go of the lock in between.
      await waitFor(() => lines(file).length >= 1, { timeoutMs: 15_000, what: 'the first try' });
      await delay(600);
      holder.exec('COMMIT');
      await worker.done;
      const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished', 15_000);
      assert.deepEqual(job.result, { retry: 1 });
      assert.deepEqual(lines(file), ['start 0', 'start 1']);
      assert.deepEqual(values(t), ['holder', 'job']);
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
    }
  });
});
