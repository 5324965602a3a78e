// The PostgreSQL backend (db_type "postgres"): a pg pool per site database, opened on first use,
// each transaction on a pooled connection of its own. `db_schema` becomes the connections'
// search_path, so a site's tables can live in a schema of a shared database.
import type pg from 'pg';
import type { Logger } from '../log/logger.js';
import { redactUrl } from '../util/redact.js';
import { toPgPlaceholders } from './placeholders.js';
import type { DbDriver, DriverConnection, Row, RunResult, SqlValue } from './types.js';

export interface PostgresOptions {
  url: string;
  schema?: string | undefined;
  log: Logger;
  /** Connections per site database at most (default 10). */
  max?: number;
}

export class PostgresDriver implements DbDriver {
  readonly dialect = 'postgres' as const;
  readonly description: string;
  private pool: Promise<pg.Pool> | undefined;

  constructor(private readonly options: PostgresOptions) {
    this.description = redactUrl(options.url);
  }

  async acquire(): Promise<DriverConnection> {
    this.pool ??= this.createPool();
    return new PostgresConnection(await (await this.pool).connect());
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await (await pool).end();
  }

  /** pg is loaded by the first PostgreSQL site database used, not by every import. */
  private async createPool(): Promise<pg.Pool> {
    const { default: driver } = await import('pg');
    const options = this.options;
    const pool = new driver.Pool({
      connectionString: options.url,
      max: options.max ?? 10,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
      // A forgotten pool must not keep a process alive.
      allowExitOnIdle: true,
      ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
    });
    // An idle connection that dies (server restart) is reported here; the pool replaces it.
    pool.on('error', (err: Error) => options.log.warn({ err, db: this.description }, 'idle site database connection failed'));
    return pool;
  }
}

class PostgresConnection implements DriverConnection {
  private released = false;

  constructor(private readonly client: pg.PoolClient) {}

  async query(sql: string, params: readonly SqlValue[]): Promise<Row[]> {
    return (await this.send(sql, params)).rows;
  }

  async run(sql: string, params: readonly SqlValue[]): Promise<RunResult> {
    return { changes: (await this.send(sql, params)).rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.client.query(sql);
  }

  async begin(): Promise<void> {
    await this.client.query('BEGIN');
  }

  async commit(): Promise<void> {
    await this.client.query('COMMIT');
  }

  async rollback(): Promise<void> {
    await this.client.query('ROLLBACK');
  }

  release(broken = false): void {
    if (this.released) return;
    this.released = true;
    this.client.release(broken);
  }

  private send(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult<Row>> {
    const text = params.length > 0 ? toPgPlaceholders(sql).sql : sql;
    return this.client.query<Row>({ text, values: params.map((v) => (v === undefined ? null : v)) });
  }
}

