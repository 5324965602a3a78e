// Jobs on a site whose database is PostgreSQL (db_type "postgres", db_url, db_schema): commit and
// rollback, the Error Log, connection reuse inside a child, and retries on real conflicts —
// deadlock (40P01), lock_not_available (55P03) and serialization failure (40001). Needs the
// machine's PostgreSQL at 127.0.0.1:5432 (database `test`); every test fails if it does not answer.
// Each run works in a schema of its own, dropped at the end.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { useDatabaseBenchSuite } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SITE = 'pg.test';
const NO_URL = 'nourl.test';
const suite = useDatabaseBenchSuite((postgresSite) => ({ [SITE]: postgresSite, [NO_URL]: { db_type: 'postgres' } }));
const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-pg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

async function values(table: string): Promise<string[]> {
  return (await suite.schema.client.query<{ value: string }>(`SELECT value FROM ${table} ORDER BY id`)).rows.map((r) => r.value);
}

async function table(name: string, rows: string[] = []): Promise<string> {
  await suite.schema.client.query(`CREATE TABLE ${name} (id SERIAL PRIMARY KEY, value TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0)`);
  for (const value of rows) await suite.schema.client.query(`INSERT INTO ${name} (value) VALUES ($1)`, [value]);
  return name;
}

describe('site database transactions (PostgreSQL)', () => {
  it('commits a successful job and uses ? placeholders', async () => {
    const t = await table('items_ok');
    const id = await suite.client.enqueue('dbapp.tasks.insert_row', { site: SITE, kwargs: { table: t, value: 'kept' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    assert.equal((await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished')).result, 1);
    assert.deepEqual(await values(t), ['kept']);
  });

  it('rolls back a failed job and writes its Error Log row in the site schema', async () => {
    const t = await table('items_fail');
    const id = await suite.client.enqueue('dbapp.tasks.insert_then_fail', { site: SITE, kwargs: { table: t, value: 'dropped' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.equal(job.error?.message, 'failed after inserting dropped');
    assert.deepEqual(await values(t), []);
    const rows = (await suite.schema.client.query(`SELECT * FROM ${suite.schema.name}.error_log WHERE job_id = $1`, [id])).rows as Record<string, unknown>[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.['method'], 'dbapp.tasks.insert_then_fail');
    assert.equal(rows[0]?.['error'], 'Error: failed after inserting dropped');
    assert.ok(rows[0]?.['creation'] instanceof Date);
    assert.match(String(rows[0]?.['stack']), /tasks\.ts/);
  });

  it('reuses the connection of a site inside a child', async () => {
    const ids = await suite.client.enqueueMany('dbapp.tasks.db_info', [{}, {}, {}], { site: SITE });
    await startSupervisor(suite.bench, { burst: true }).done;
    const results = await Promise.all(ids.map(async (id) => (await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished')).result as Record<string, unknown>));
    assert.equal(results[0]?.['dialect'], 'postgres');
    assert.match(String(results[0]?.['version']), /^PostgreSQL/);
    assert.equal(new Set(results.map((r) => r['pid'])).size, 1, 'one child');
    assert.equal(new Set(results.map((r) => r['backend'])).size, 1, 'one server connection for the three jobs');
  });

  it('retries the victim of a deadlock (40P01); both jobs end up committed', async () => {
    const t = await table('deadlock', ['a', 'b']);
    const marks = mkdtempSync(path.join(dir, 'deadlock-'));
    const one = await suite.client.enqueue('dbapp.tasks.deadlock_side', { site: SITE, kwargs: { table: t, first: 'a', second: 'b', dir: marks } });
    const two = await suite.client.enqueue('dbapp.tasks.deadlock_side', { site: SITE, kwargs: { table: t, first: 'b', second: 'a', dir: marks } });
    await startSupervisor(suite.bench, { burst: true, concurrency: 2 }).done;
    const results = [
      (await waitForStatus(suite.redis.client, suite.bench, 'default', one, 'finished', 30_000)).result as { retry: number },
      (await waitForStatus(suite.redis.client, suite.bench, 'default', two, 'finished', 30_000)).result as { retry: number },
    ];
    assert.deepEqual(results.map((r) => r.retry).sort(), [0, 1], 'one of them was retried once');
    const counts = (await suite.schema.client.query<{ value: string; n: number }>(`SELECT value, n FROM ${t} ORDER BY value`)).rows;
    assert.deepEqual(counts, [{ value: 'a', n: 2 }, { value: 'b', n: 2 }], 'the rolled-back try left nothing behind');
  });

  it('retries on lock_not_available (55P03) once the lock is free', async () => {
    const t = await table('nowait', ['locked']);
    const file = path.join(dir, 'nowait');
    const holder = await suite.schema.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT * FROM ${t} WHERE value = 'locked' FOR UPDATE`);
    try {
      const id = await suite.client.enqueue('dbapp.tasks.locked_write', { site: SITE, kwargs: { file, table: t, value: 'job', nowait: true } });
      const worker = startSupervisor(suite.bench, { burst: true });
      // The first try has hit the lock; the next comes 1 s later (the retry wait), after the COMMIT.
      await waitFor(() => lines(file).includes('failed 0'), { timeoutMs: 15_000, what: 'the first try to hit the lock' });
      await holder.query('COMMIT');
      await worker.done;
      assert.deepEqual((await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished', 15_000)).result, { retry: 1 });
      assert.deepEqual(lines(file), ['start 0', 'failed 0', 'start 1']);
      assert.deepEqual(await values(t), ['locked', 'job']);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
    }
  });

  it('retries on a serialization failure (40001) in a REPEATABLE READ job', async () => {
    const t = await table('serial', ['row']);
    const marks = mkdtempSync(path.join(dir, 'serial-'));
    const id = await suite.client.enqueue('dbapp.tasks.serializable_update', { site: SITE, kwargs: { table: t, value: 'row', dir: marks } });
    const worker = startSupervisor(suite.bench, { burst: true });
    await waitFor(() => existsSync(path.join(marks, 'job-read')), { timeoutMs: 15_000, what: 'the job to read the row' });
    await suite.schema.client.query(`UPDATE ${t} SET n = n + 1 WHERE value = 'row'`);
    writeFileSync(path.join(marks, 'test-updated'), 'done');
    await worker.done;
    assert.deepEqual((await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished', 15_000)).result, { retry: 1 });
    assert.deepEqual(lines(path.join(marks, 'job-read')), ['0', '1']);
    assert.equal((await suite.schema.client.query<{ n: number }>(`SELECT n FROM ${t}`)).rows[0]?.n, 11);
  });

  it('fails only the jobs that use the database of a site with db_type postgres and no db_url', async () => {
    const used = await suite.client.enqueue('dbapp.tasks.db_info', { site: NO_URL });
    const unused = await suite.client.enqueue('testapp.tasks.echo', { site: NO_URL, kwargs: { fine: true } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const failed = await waitForStatus(suite.redis.client, suite.bench, 'default', used, 'failed');
    assert.equal(failed.error?.code, 'ERR_CONFIG_INVALID');
    assert.match(failed.error?.message ?? '', /db_type is "postgres" but no db_url is set/);
    assert.deepEqual((await waitForStatus(suite.redis.client, suite.bench, 'default', unused, 'finished')).result, { fine: true });
  });
});
