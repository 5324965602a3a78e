// The site database from app code: client.siteDb(site) / openSiteDb(site) with statements and
// transactions; tx.enqueueAfterCommit reaches Redis only when the transaction commits, never when
// it rolls back. On the SQLite file and on PostgreSQL (which must answer at 127.0.0.1:5432).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { closeDefaultClient, openSiteDb } from '../../src/index.ts';
import { openSqlite } from '../helpers/databases.ts';
import { startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { queuedCount, queuedIds } from '../helpers/queued.ts';
import { useDatabaseBenchSuite } from '../helpers/suite.ts';

const SQLITE = 'lite.test';
const PG = 'pg.test';
const suite = useDatabaseBenchSuite((postgresSite) => ({ [SQLITE]: {}, [PG]: postgresSite }));

const waiting = () => queuedCount(suite.redis.client, suite.bench.benchId, 'default');

for (const site of [SQLITE, PG]) {
  describe(`app code on the site database (${site === PG ? 'PostgreSQL' : 'SQLite'})`, () => {
    const t = `app_items_${site === PG ? 'pg' : 'lite'}`;

    before(async () => {
      const id = site === PG ? 'SERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
      await suite.client.siteDb(site).exec(`CREATE TABLE ${t} (id ${id}, value TEXT NOT NULL)`);
    });

    it('runs statements with ? placeholders outside a transaction', async () => {
      const db = suite.client.siteDb(site);
      assert.equal(db.dialect, site === PG ? 'postgres' : 'sqlite');
      assert.deepEqual(await db.run(`INSERT INTO ${t} (value) VALUES (?), (?)`, ['one', "it's"]), { changes: 2 });
      const rows = await db.query<{ value: string }>(`SELECT value FROM ${t} WHERE value IN (?, ?) ORDER BY id`, ['one', "it's"]);
      assert.deepEqual(rows.map((r) => r.value), ['one', "it's"]);
      assert.equal(suite.client.siteDb(site), db, 'one handle per site and client');
    });

    it('enqueues after commit: nothing in Redis until the transaction commits', async () => {
      let inside = -1;
      const result = await suite.client.siteDb(site).transaction(async (tx) => {
        await tx.run(`INSERT INTO ${t} (value) VALUES (?)`, ['committed-order']);
        tx.enqueueAfterCommit('dbapp.tasks.insert_row', { kwargs: { table: t, value: 'from-after-commit' } });
        inside = await waiting();
        return 'done';
      });
      assert.equal(result, 'done');
      assert.equal(inside, 0, 'not enqueued before the commit');
      assert.equal(await waiting(), 1, 'enqueued by the commit');
      const [id] = await queuedIds(suite.redis.client, suite.bench.benchId, 'default');
      await startSupervisor(suite.bench, { burst: true }).done;
      assert.equal((await waitForStatus(suite.redis.client, suite.bench, 'default', id as string, 'finished')).result, 1);
    });

    it('never enqueues when the transaction rolls back, and rethrows', async () => {
      await assert.rejects(
        suite.client.siteDb(site).transaction(async (tx) => {
          await tx.run(`INSERT INTO ${t} (value) VALUES (?)`, ['rolled-back']);
          tx.enqueueAfterCommit('dbapp.tasks.insert_row', { kwargs: { table: t, value: 'never' } });
          tx.afterCommit(() => assert.fail('must not run'));
          throw new Error('changed my mind');
        }),
        /changed my mind/,
      );
      assert.equal(await waiting(), 0);
      const rows = await suite.client.siteDb(site).query(`SELECT * FROM ${t} WHERE value IN (?, ?)`, ['rolled-back', 'never']);
      assert.deepEqual(rows, []);
    });

    it('runs afterCommit callbacks in order after the commit; a failing one rejects with ERR_AFTER_COMMIT', async () => {
      const seen: string[] = [];
      await assert.rejects(
        suite.client.siteDb(site).transaction(async (tx) => {
          await tx.run(`INSERT INTO ${t} (value) VALUES (?)`, ['kept-anyway']);
          tx.afterCommit(() => seen.push('first'));
          tx.afterCommit(() => {
            throw new Error('second broke');
          });
          tx.afterCommit(async () => seen.push('third'));
        }),
        (err: Error & { code?: string }) => err.code === 'ERR_AFTER_COMMIT' && /second broke/.test(err.message),
      );
      assert.deepEqual(seen, ['first', 'third']);
      assert.equal((await suite.client.siteDb(site).query(`SELECT * FROM ${t} WHERE value = ?`, ['kept-anyway'])).length, 1);
    });

    it('refuses a transaction used after its end', async () => {
      let kept: { run: (sql: string) => Promise<unknown> } | undefined;
      await suite.client.siteDb(site).transaction((tx) => {
        kept = tx;
      });
      await assert.rejects(kept?.run(`DELETE FROM ${t}`) ?? Promise.resolve(), { code: 'ERR_DB' });
    });

    it('checks enqueueAfterCommit arguments at once', async () => {
      await assert.rejects(
        suite.client.siteDb(site).transaction((tx) => tx.enqueueAfterCommit('dbapp.tasks.insert_row', { kwargs: { when: new Date() } })),
        { code: 'ERR_ENQUEUE_INVALID' },
      );
      await assert.rejects(
        suite.client.siteDb(site).transaction((tx) => tx.enqueueAfterCommit('dbapp.tasks.insert_row', { queue: 'nope' })),
        { code: 'ERR_QUEUE_UNKNOWN' },
      );
    });
  });
}

describe('openSiteDb (module-level, default suite.bench)', () => {
  it('opens the database of a site of $BENCH_PATH', async () => {
    const saved = process.env['BENCH_PATH'];
    process.env['BENCH_PATH'] = suite.bench.path;
    try {
      const db = await openSiteDb(SQLITE);
      await db.exec('CREATE TABLE module_level (value TEXT)');
      await db.transaction((tx) => tx.run('INSERT INTO module_level VALUES (?)', ['x']));
    } finally {
      await closeDefaultClient();
      if (saved === undefined) delete process.env['BENCH_PATH'];
      else process.env['BENCH_PATH'] = saved;
    }
    const check = openSqlite(suite.bench, SQLITE);
    assert.deepEqual(check.prepare('SELECT value FROM module_level').all(), [{ value: 'x' }]);
    check.close();
  });
});
