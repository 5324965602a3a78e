// Jobs run inside a transaction on their site's SQLite file (sites/<site>/site.db): commit on
// success, rollback on failure, after-commit work (callbacks, enqueueAfterCommit) only after a
// commit, and an Error Log row for every failed job, against a real redis-server and worker.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { queueKeys } from '../../src/redis/keys.ts';
import { openSqlite, sqliteFile } from '../helpers/databases.ts';
import { startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { queuedCount } from '../helpers/queued.ts';
import { useBenchSuite } from '../helpers/suite.ts';

const SITE = 'site1.test';
const BAD_LOG = 'badlog.test';
const FRESH = 'fresh.test';

function tempFile(name: string): string {
  return path.join(os.tmpdir(), `bw-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function values(site: string, table: string): string[] {
  const db = openSqlite(suite.bench, site);
  try {
    return (db.prepare(`SELECT value FROM ${table} ORDER BY id`).all() as { value: string }[]).map((r) => r.value);
  } finally {
    db.close();
  }
}

function errorLog(site: string): Record<string, unknown>[] {
  const db = openSqlite(suite.bench, site);
  try {
    return db.prepare('SELECT * FROM error_log ORDER BY id').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

const suite = useBenchSuite({
  sites: { [SITE]: {}, [BAD_LOG]: {}, [FRESH]: {} },
  linkPackage: true,
  prepare: (bench) => {
    for (const site of [SITE, BAD_LOG]) {
      const db = openSqlite(bench, site);
      db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, value TEXT NOT NULL)');
      db.close();
    }
    // An error_log table of the wrong shape: writing the Error Log row fails.
    const bad = openSqlite(bench, BAD_LOG);
    bad.exec('CREATE TABLE error_log (only_column TEXT NOT NULL)');
    bad.close();
  },
});

describe('site database transactions (SQLite)', () => {
  it('commits what a successful job wrote to sites/<site>/site.db', async () => {
    const id = await suite.client.enqueue('dbapp.tasks.insert_row', { site: SITE, kwargs: { table: 'items', value: 'kept' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished');
    assert.equal(job.result, 1, 'the job sees its own insert');
    assert.ok(existsSync(sqliteFile(suite.bench, SITE)));
    assert.deepEqual(values(SITE, 'items').filter((v) => v === 'kept'), ['kept']);
  });

  it('rolls back what a failed job wrote and records an Error Log row', async () => {
    const started = new Date();
    const id = await suite.client.enqueue('dbapp.tasks.insert_then_fail', { site: SITE, kwargs: { table: 'items', value: 'dropped' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.equal(job.error?.message, 'failed after inserting dropped');
    assert.ok(!values(SITE, 'items').includes('dropped'), 'the insert must be rolled back');
    const row = errorLog(SITE).find((r) => r['job_id'] === id);
    assert.ok(row, 'an error_log row for the job');
    assert.equal(row['method'], 'dbapp.tasks.insert_then_fail');
    assert.equal(row['error'], 'Error: failed after inserting dropped');
    assert.match(String(row['stack']), /tasks\.ts/);
    assert.ok(new Date(String(row['creation'])).getTime() >= started.getTime() - 1000);
    assert.equal(typeof row['id'], 'number');
  });

  it('runs after-commit work once the job commits: callbacks, then enqueueAfterCommit', async () => {
    const file = tempFile('after-commit');
    const id = await suite.client.enqueue('dbapp.tasks.with_after_commit', { site: SITE, kwargs: { file, table: 'items', value: 'parent' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    assert.equal((await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished')).result, 'committed');
    assert.deepEqual(lines(file), ['after-commit parent']);
    const all = values(SITE, 'items');
    assert.ok(all.includes('parent') && all.includes('parent-child'), `the after-commit job ran: ${all.join(', ')}`);
  });

  it('drops after-commit work when the job fails: no callback, nothing reaches Redis', async () => {
    const file = tempFile('after-rollback');
    const id = await suite.client.enqueue('dbapp.tasks.with_after_commit', { site: SITE, kwargs: { file, table: 'items', value: 'doomed', fail: true } });
    const before1 = await suite.redis.client.keys(`*${suite.bench.benchId}*`);
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.equal(job.error?.message, 'failing after registering after-commit work');
    assert.deepEqual(lines(file), []);
    assert.equal(await queuedCount(suite.redis.client, suite.bench.benchId, 'default'), 0);
    const after1 = await suite.redis.client.keys(`*${suite.bench.benchId}*`);
    const newJobs = after1.filter((k) => !before1.includes(k) && k.includes('job'));
    assert.deepEqual(newJobs, [], 'no job was enqueued');
    assert.ok(!values(SITE, 'items').some((v) => v.startsWith('doomed')));
  });

  it('fails a job whose after-commit callback throws, with its data committed (ERR_AFTER_COMMIT)', async () => {
    const id = await suite.client.enqueue('dbapp.tasks.failing_after_commit', { site: SITE, kwargs: { table: 'items', value: 'committed-anyway' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.equal(job.error?.code, 'ERR_AFTER_COMMIT');
    assert.match(job.error?.message ?? '', /committed.*after-commit callback broke/);
    assert.ok(values(SITE, 'items').includes('committed-anyway'));
  });

  it('checks an enqueueAfterCommit at once: a bad method fails the job and rolls it back', async () => {
    const id = await suite.client.enqueue('dbapp.tasks.bad_after_commit_enqueue', { site: SITE, kwargs: { table: 'items', value: 'never' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.equal(job.error?.code, 'ERR_JOB_LOAD');
    assert.ok(!values(SITE, 'items').includes('never'));
  });

  it('opens no database for a job that does not use it', async () => {
    const id = await suite.client.enqueue('testapp.tasks.echo', { site: FRESH, kwargs: { ok: 1 } });
    await startSupervisor(suite.bench, { burst: true }).done;
    await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished');
    assert.equal(existsSync(sqliteFile(suite.bench, FRESH)), false);
  });

  it('keeps the job error when its Error Log row cannot be written', async () => {
    const id = await suite.client.enqueue('dbapp.tasks.insert_then_fail', { site: BAD_LOG, kwargs: { table: 'items', value: 'x' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.equal(job.error?.message, 'failed after inserting x');
    assert.deepEqual(values(BAD_LOG, 'items'), []);
  });

  it('logs failures that happen before the job function runs (no such export)', async () => {
    const id = await suite.client.enqueue('dbapp.tasks.insert_row', { site: SITE, kwargs: {} });
    await suite.redis.client.hset(queueKeys(suite.bench.benchId, 'default').job(id), 'method', 'dbapp.tasks.missing_export');
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.equal(job.error?.code, 'ERR_JOB_LOAD');
    const row = errorLog(SITE).find((r) => r['job_id'] === id);
    assert.equal(row?.['method'], 'dbapp.tasks.missing_export');
    assert.match(String(row?.['error']), /^JobLoadError \[ERR_JOB_LOAD\]: .*missing_export/);
  });
});
