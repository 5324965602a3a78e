// A site's database: which backend its config asks for (db_type, db_url, db_schema), a handle that
// runs statements (autocommit) or transactions on it, and a cache that opens each site's handle
// once per process (a job child, a BenchClient) and reopens it when the site's db keys change.
import path from 'node:path';
import type { BenchConfig, SiteConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { PostgresDriver } from './postgres.js';
import { SqliteDriver } from './sqlite.js';
import { Transaction, type TransactionServices } from './transaction.js';
import type { DbDriver, Dialect, Queryable, Row, RunResult, SqlValue } from './types.js';

/** File name of a site's SQLite database, in its folder under sites/. */
export const SQLITE_FILE = 'site.db';

export interface SiteDbSettings {
  dialect: Dialect;
  /** SQLite file. */
  file?: string;
  /** PostgreSQL URL and schema. */
  url?: string;
  schema?: string;
  busyTimeoutMs: number;
}

/** The database settings of a site, from its merged config. */
export function siteDbSettings(bench: BenchConfig, site: SiteConfig): SiteDbSettings {
  const settings = site.settings;
  if (settings.db_type === 'postgres') {
    if (settings.db_url === undefined) {
      throw new ConfigError(`site "${site.site}": db_type is "postgres" but no db_url is set (in ${site.file} or the common config)`, site.file, 'db_url');
    }
    return { dialect: 'postgres', url: settings.db_url, ...(settings.db_schema === undefined ? {} : { schema: settings.db_schema }), busyTimeoutMs: 0 };
  }
  return { dialect: 'sqlite', file: path.join(bench.sitesDir, site.site, SQLITE_FILE), busyTimeoutMs: settings.sqlite_busy_timeout_ms };
}

/** Services shared by every transaction of a site database (the rest come per transaction). */
export type BaseServices = Omit<TransactionServices, 'site' | 'installedApps'>;

export class SiteDatabase implements Queryable {
  readonly dialect: Dialect;

  constructor(
    readonly site: string,
    private readonly driver: DbDriver,
    private readonly services: TransactionServices,
  ) {
    this.dialect = driver.dialect;
  }

  /** Where the database is (file path, or URL without password). */
  get description(): string {
    return this.driver.description;
  }

  /** One statement in a transaction of its own (autocommit). */
  async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.oneStatement((conn) => conn.query(sql, params)) as Promise<T[]>;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return this.oneStatement((conn) => conn.run(sql, params));
  }

  async exec(sql: string): Promise<void> {
    await this.oneStatement((conn) => conn.exec(sql));
  }

  /**
   * Run `fn` in a transaction: COMMIT when it resolves, then its after-commit work (callbacks,
   * enqueueAfterCommit, realtime messages with afterCommit); ROLLBACK when it throws, dropping that
   * work, and rethrow. Resolves to what `fn` returned.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    const tx = this.begin();
    let value: T;
    try {
      value = await fn(tx);
      await tx.commit();
    } catch (err) {
      await tx.rollback();
      throw err;
    }
    await tx.runAfterCommit();
    return value;
  }

  /** A transaction to drive by hand (commit / runAfterCommit / rollback), as the job runner does. */
  begin(overrides: Partial<TransactionServices> = {}): Transaction {
    return new Transaction(this.driver, { ...this.services, ...overrides });
  }

  async close(): Promise<void> {
    await this.driver.close();
  }

  private async oneStatement<R>(run: (conn: Awaited<ReturnType<DbDriver['acquire']>>) => Promise<R>): Promise<R> {
    const conn = await this.driver.acquire();
    try {
      const result = await run(conn);
      conn.release();
      return result;
    } catch (err) {
      conn.release();
      throw err;
    }
  }
}

/** One SiteDatabase per site, opened on first use; reopened when the site's db settings change. */
export class SiteDbCache {
  /** By site: the database, the settings it was opened with, and the config object they came from. */
  private readonly entries = new Map<string, { key: string; db: SiteDatabase; config: SiteConfig }>();

  constructor(
    private readonly bench: BenchConfig,
    private readonly base: BaseServices,
  ) {}

  /**
   * The site's database. A site whose db keys are wrong still gets one: every statement on it
   * fails with the config error, so jobs that do not touch the database still run.
   */
  get(site: SiteConfig): SiteDatabase {
    // The same config object (configs are re-read only when their file changes): nothing to compare.
    const same = this.entries.get(site.site);
    if (same?.config === site) return same.db;
    let settings: SiteDbSettings | Error;
    try {
      settings = siteDbSettings(this.bench, site);
    } catch (err) {
      settings = err instanceof Error ? err : new Error(String(err));
    }
    const key = settings instanceof Error ? `error:${settings.message}` : JSON.stringify(settings);
    const hit = this.entries.get(site.site);
    if (hit && hit.key === key) {
      hit.config = site;
      return hit.db;
    }
    if (hit) void hit.db.close().catch((err: unknown) => this.base.log.warn({ err, site: site.site }, 'closing a site database failed'));
    const driver: DbDriver =
      settings instanceof Error
        ? new FailingDriver(settings)
        : settings.dialect === 'postgres'
        ? new PostgresDriver({ url: settings.url as string, schema: settings.schema, log: this.base.log })
        : new SqliteDriver(settings.file as string, settings.busyTimeoutMs);
    const db = new SiteDatabase(site.site, driver, { ...this.base, site: site.site, installedApps: site.installedApps });
    this.entries.set(site.site, { key, db, config: site });
    return db;
  }

  async closeAll(): Promise<void> {
    const dbs = [...this.entries.values()].map((e) => e.db);
    this.entries.clear();
    await Promise.all(dbs.map((db) => db.close().catch(() => undefined)));
  }
}

/** Stands in for a database whose config is wrong: every connection attempt fails with that error. */
class FailingDriver implements DbDriver {
  readonly dialect = 'sqlite' as const;
  readonly description = 'misconfigured site database';

  constructor(private readonly error: Error) {}

  async acquire(): Promise<never> {
    throw this.error;
  }

  async close(): Promise<void> {}
}

const clientCaches = new WeakMap<object, SiteDbCache>();

/** The cache of site databases belonging to `owner` (a BenchClient), created on first use. */
export function siteDbCacheOf(owner: object, create: () => SiteDbCache): SiteDbCache {
  let cache = clientCaches.get(owner);
  if (!cache) {
    cache = create();
    clientCaches.set(owner, cache);
  }
  return cache;
}

/** Close `owner`'s site databases, if it opened any. */
export async function closeSiteDbsOf(owner: object): Promise<void> {
  const cache = clientCaches.get(owner);
  clientCaches.delete(owner);
  await cache?.closeAll();
}
