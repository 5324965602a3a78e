// Unit tests of the execution building blocks: `?` -> `$n` placeholders, which errors are retryable
// conflicts, realtime rooms, DocType names, the db config keys, and the transaction's lazy BEGIN
// and after-commit bookkeeping (on an in-memory fake driver).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { loadBenchConfig } from '../../src/config/load.ts';
import { validateKnownKeys } from '../../src/config/validate.ts';
import { retryableConflict } from '../../src/db/conflicts.ts';
import { toPgPlaceholders } from '../../src/db/placeholders.ts';
import { Transaction } from '../../src/db/transaction.ts';
import type { DbDriver, DriverConnection } from '../../src/db/types.ts';
import { RetryBackgroundJobError } from '../../src/errors.ts';
import { controllerClassName, docTable, scrub } from '../../src/jobs/doc-method.ts';
import { realtimeEnvelope } from '../../src/realtime/realtime.ts';
import { REPO_ROOT } from '../helpers/bench.ts';

describe('toPgPlaceholders', () => {
  const pg = (sql: string) => toPgPlaceholders(sql).sql;

  it('numbers each ? outside quotes and comments', () => {
    assert.equal(pg('SELECT * FROM t WHERE a = ? AND b IN (?, ?)'), 'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)');
    assert.equal(toPgPlaceholders('UPDATE t SET a = ?').count, 1);
  });

  it('leaves ? inside strings, identifiers, comments and dollar quotes alone', () => {
    assert.equal(pg(`SELECT '?', 'it''s ?', "col?" FROM t WHERE a = ?`), `SELECT '?', 'it''s ?', "col?" FROM t WHERE a = $1`);
    assert.equal(pg('SELECT 1 -- why?\nWHERE a = ?'), 'SELECT 1 -- why?\nWHERE a = $1');
    assert.equal(pg('SELECT /* a? /* nested? */ b? */ ?'), 'SELECT /* a? /* nested? */ b? */ $1');
    assert.equal(pg('SELECT $$what?$$, $tag$x?$tag$, ?'), 'SELECT $$what?$$, $tag$x?$tag$, $1');
    assert.equal(pg(`SELECT E'back\\'slash?', ?`), `SELECT E'back\\'slash?', $1`);
  });

  it('passes SQL without ? unchanged (native $1 placeholders still work)', () => {
    assert.equal(pg('SELECT $1::int'), 'SELECT $1::int');
  });
});

describe('retryableConflict', () => {
  const pgError = (code: string) => Object.assign(new Error('pg'), { code, severity: 'ERROR' });

  it('knows RetryBackgroundJobError, SQLite busy/locked and PostgreSQL 40001, 40P01, 55P03', () => {
    assert.equal(retryableConflict(new RetryBackgroundJobError()), 'RetryBackgroundJobError');
    assert.equal(retryableConflict(Object.assign(new Error('x'), { name: 'RetryBackgroundJobError' })), 'RetryBackgroundJobError');
    assert.equal(retryableConflict(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' })), 'SQLITE_BUSY');
    assert.equal(retryableConflict(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY_SNAPSHOT' })), 'SQLITE_BUSY_SNAPSHOT');
    assert.equal(retryableConflict(Object.assign(new Error('locked'), { code: 'SQLITE_LOCKED' })), 'SQLITE_LOCKED');
    for (const code of ['40001', '40P01', '55P03']) assert.equal(retryableConflict(pgError(code)), `postgres ${code}`);
  });

  it('looks through causes, and ignores everything else', () => {
    assert.equal(retryableConflict(new Error('wrapped', { cause: pgError('40P01') })), 'postgres 40P01');
    assert.equal(retryableConflict(pgError('23505')), undefined, 'unique violation is not retried');
    assert.equal(retryableConflict(Object.assign(new Error('x'), { code: '40001' })), undefined, 'a pg code needs a pg error');
    assert.equal(retryableConflict(new Error('plain')), undefined);
    assert.equal(retryableConflict('string'), undefined);
  });
});

describe('realtimeEnvelope', () => {
  it('picks the room as Frappe does and namespaces by site', () => {
    const room = (event: string, message: unknown, options = {}) => realtimeEnvelope('s1', event, message, options).room;
    assert.equal(room('e', {}), 'all');
    assert.equal(room('e', {}, { user: 'u' }), 'user:u');
    assert.equal(room('e', {}, { doctype: 'ToDo' }), 'doctype:ToDo');
    assert.equal(room('e', {}, { doctype: 'ToDo', docname: 'T1' }), 'doc:ToDo/T1');
    assert.equal(room('e', {}, { user: 'u', doctype: 'ToDo', docname: 'T1' }), 'user:u');
    assert.equal(room('e', {}, { room: 'r', user: 'u' }), 'r');
    assert.equal(room('list_update', { doctype: 'Note' }), 'doctype:Note');
    assert.equal(room('docinfo_update', {}, { doctype: 'Note', docname: 'N1', user: 'u' }), 'doc:Note/N1');
    assert.deepEqual(realtimeEnvelope('s1', 'p', { x: 1 }, { taskId: 't' }), { event: 'p', message: { x: 1, task_id: 't' }, room: 'task_progress:t', namespace: 's1' });
    assert.deepEqual(realtimeEnvelope('s1', 'e', undefined).message, {});
  });
});

describe('DocType names', () => {
  it('maps a DocType to its module, table and controller class', () => {
    assert.equal(scrub('Sales Order'), 'sales_order');
    assert.equal(scrub('Sales-Order Item'), 'sales_order_item');
    assert.equal(docTable('Sales Order'), 'tabSales Order');
    assert.equal(controllerClassName('Sales Order'), 'SalesOrder');
    assert.equal(controllerClassName('sales_order'), 'SalesOrder');
  });
});

describe('db config keys', () => {
  const check = (raw: Record<string, unknown>) => () => validateKnownKeys(raw, 'site_config.json', true);

  it('accepts sqlite / postgres with a postgres URL and a schema name', () => {
    assert.doesNotThrow(check({ db_type: 'sqlite' }));
    assert.doesNotThrow(check({ db_type: 'postgres', db_url: 'postgresql://u:p@db:5432/site1', db_schema: 'site_1', sqlite_busy_timeout_ms: 0 }));
  });

  it('refuses other values with the expected form', () => {
    assert.throws(check({ db_type: 'mariadb' }), /key "db_type": expected "sqlite" or "postgres", found "mariadb"/);
    assert.throws(check({ db_url: 'mysql://x' }), /key "db_url": expected a postgres:\/\/ or postgresql:\/\/ URL/);
    assert.throws(check({ db_schema: 'my schema' }), /key "db_schema": expected a name of letters/);
    assert.throws(check({ sqlite_busy_timeout_ms: -1 }), /key "sqlite_busy_timeout_ms"/);
  });

  it('defaults to SQLite with a 5 s busy timeout', () => {
    const bench = loadBenchConfig(`${REPO_ROOT}/examples/demo-bench`);
    assert.equal(bench.settings.db_type, 'sqlite');
    assert.equal(bench.settings.sqlite_busy_timeout_ms, 5000);
  });
});

describe('Transaction', () => {
  function fakeDriver(log: string[]): DbDriver {
    const conn: DriverConnection = {
      query: async (sql) => (log.push(sql), []),
      run: async (sql) => (log.push(sql), { changes: 1 }),
      exec: async (sql) => void log.push(sql),
      begin: async () => void log.push('BEGIN'),
      commit: async () => void log.push('COMMIT'),
      rollback: async () => void log.push('ROLLBACK'),
      release: (broken) => void log.push(broken ? 'release(broken)' : 'release'),
    };
    return { dialect: 'sqlite', description: 'fake', acquire: async () => (log.push('acquire'), conn), close: async () => {} };
  }
  const services = () => ({ site: 's1', bench: loadBenchConfig(`${REPO_ROOT}/examples/demo-bench`), log: pino({ level: 'silent' }) });

  it('begins on its first statement only', async () => {
    const log: string[] = [];
    const tx = new Transaction(fakeDriver(log), services());
    const ran: string[] = [];
    tx.afterCommit(() => ran.push('cb'));
    await tx.commit();
    await tx.runAfterCommit();
    assert.deepEqual(log, [], 'no statement: no connection, no BEGIN/COMMIT');
    assert.deepEqual(ran, ['cb'], 'callbacks still run');
  });

  it('commits, then runs callbacks in order; rollback drops them', async () => {
    const log: string[] = [];
    const tx = new Transaction(fakeDriver(log), services());
    await tx.run('INSERT 1');
    tx.afterCommit(() => log.push('cb1'));
    tx.afterCommit(async () => log.push('cb2'));
    await tx.commit();
    log.push('committed');
    await tx.runAfterCommit();
    assert.deepEqual(log, ['acquire', 'BEGIN', 'INSERT 1', 'COMMIT', 'release', 'committed', 'cb1', 'cb2']);

    const log2: string[] = [];
    const tx2 = new Transaction(fakeDriver(log2), services());
    await tx2.query('SELECT 1');
    tx2.afterCommit(() => log2.push('never'));
    await tx2.rollback();
    assert.deepEqual(log2, ['acquire', 'BEGIN', 'SELECT 1', 'ROLLBACK', 'release']);
    await assert.rejects(tx2.query('SELECT 2'), { code: 'ERR_DB' });
    assert.throws(() => tx2.afterCommit(() => undefined), { code: 'ERR_DB' });
  });
});
