// Site databases for tests: open a test site's SQLite file from the test process, and a throwaway
// PostgreSQL schema on the machine's server (127.0.0.1:5432, database `test`), dropped afterwards.
// PostgreSQL tests fail (they do not skip) when that server does not answer.
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { after, beforeEach } from 'node:test';
import pg from 'pg';
import { REPO_ROOT, type TestBench } from './bench.ts';

export const PG_URL = process.env['BENCH_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Make `import … from 'bench-worker'` work in the bench's apps, as it does in a real bench where the
 * package is installed: <bench>/node_modules/bench-worker links to this repository.
 */
export function linkPackage(bench: TestBench): void {
  mkdirSync(path.join(bench.path, 'node_modules'), { recursive: true });
  symlinkSync(REPO_ROOT, path.join(bench.path, 'node_modules', 'bench-worker'), 'dir');
}

export function sqliteFile(bench: TestBench, site: string): string {
  return path.join(bench.path, 'sites', site, 'site.db');
}

/** A connection to a test site's SQLite file (created when missing), with a short busy timeout. */
export function openSqlite(bench: TestBench, site: string): Database.Database {
  const db = new Database(sqliteFile(bench, site));
  db.pragma('busy_timeout = 2000');
  db.pragma('journal_mode = WAL');
  return db;
}

export interface TestSchema {
  name: string;
  /** A client whose search_path is the schema. */
  client: pg.Client;
  /** Site config keys pointing a site at this schema. */
  siteConfig: { db_type: 'postgres'; db_url: string; db_schema: string };
  /** A second connection to the schema (to hold locks while a job runs). */
  connect(): Promise<pg.Client>;
  drop(): Promise<void>;
}

/** Create a schema of a unique name; throws when the server does not answer. */
export async function createSchema(): Promise<TestSchema> {
  const name = `bw_test_${randomBytes(5).toString('hex')}`;
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${name}`, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
    } catch (err) {
      throw new Error(`PostgreSQL at ${PG_URL} does not answer (the PostgreSQL tests need it): ${(err as Error).message}`, { cause: err });
    }
    return client;
  };
  const client = await connect();
  await client.query(`CREATE SCHEMA ${name}`);
  const extra: pg.Client[] = [];
  return {
    name,
    client,
    siteConfig: { db_type: 'postgres', db_url: PG_URL, db_schema: name },
    async connect() {
      const c = await connect();
      extra.push(c);
      return c;
    },
    async drop() {
      for (const c of extra) await c.end().catch(() => undefined);
      await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await client.end();
    },
  };
}

/**
 * For a test file on PostgreSQL: call create() first thing in the file's before() hook (node 20 runs
 * a file's top-level before() hooks concurrently, so this helper registers none); the schema is
 * dropped after the file's tests. When the server does not answer, every test of the file fails
 * with that reason (none is skipped).
 */
export function usePostgres(): { create(): Promise<void>; schema(): TestSchema; siteConfig(): TestSchema['siteConfig'] } {
  let current: TestSchema | undefined;
  let failure: unknown;
  beforeEach(() => {
    if (failure !== undefined) throw failure;
  });
  after(async () => {
    await current?.drop();
  });
  return {
    async create() {
      try {
        current = await createSchema();
      } catch (err) {
        failure = err;
      }
    },
    schema() {
      if (!current) throw (failure ?? new Error('PostgreSQL schema not created yet'));
      return current;
    },
    siteConfig() {
      return current?.siteConfig ?? { db_type: 'postgres', db_url: PG_URL, db_schema: 'bw_unavailable' };
    },
  };
}
