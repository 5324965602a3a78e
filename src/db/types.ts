// The site database as bench-worker sees it: plain SQL, no ORM. One small interface (`Queryable`)
// that a job's transaction and app code use alike, and the driver contract each backend
// (SQLite, PostgreSQL) implements underneath it.

export type Dialect = 'sqlite' | 'postgres';

/** A value bound to a `?` placeholder. SQLite stores booleans as 1/0 and Dates as ISO strings. */
export type SqlValue = string | number | bigint | boolean | null | undefined | Date | Uint8Array;

/** One result row: column name -> value. */
export type Row = Record<string, unknown>;

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

/**
 * Plain SQL on a site database. Placeholders are `?` on both databases (on PostgreSQL they are
 * turned into `$1`, `$2`… outside quotes and comments).
 */
export interface Queryable {
  readonly dialect: Dialect;
  /** Run one statement; resolves to its rows (none for a statement that returns none). */
  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Run one write statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /** Run a script of one or more statements without parameters (DDL, migrations). */
  exec(sql: string): Promise<void>;
}

/** One connection taken from a driver for one transaction (or one statement). */
export interface DriverConnection {
  query(sql: string, params: readonly SqlValue[]): Promise<Row[]>;
  run(sql: string, params: readonly SqlValue[]): Promise<RunResult>;
  exec(sql: string): Promise<void>;
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Give the connection back; `broken` closes it instead of keeping it for reuse. */
  release(broken?: boolean): void;
}

/** A pool of connections to one site database, opened on first use. */
export interface DbDriver {
  readonly dialect: Dialect;
  /** Where the database is, for messages (a file path, or the URL without its password). */
  readonly description: string;
  acquire(): Promise<DriverConnection>;
  close(): Promise<void>;
}
