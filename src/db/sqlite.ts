// The embedded backend: one SQLite file per site (sites/<site>/site.db) through better-sqlite3.
// better-sqlite3 is synchronous, so each transaction gets a connection of its own from a small
// pool (jobs running at once in one child must not share a transaction). WAL mode lets readers run
// beside the one writer; a writer that waits longer than sqlite_busy_timeout_ms for another one's
// lock fails with SQLITE_BUSY, which the job runner treats as a retryable conflict.
import type Database from 'better-sqlite3';
import type { DbDriver, DriverConnection, Row, RunResult, SqlValue } from './types.js';

/** Idle connections kept per site file; more are opened while many jobs of a site run at once. */
const MAX_IDLE = 4;

type SqliteBindable = string | number | bigint | null | Buffer;

export class SqliteDriver implements DbDriver {
  readonly dialect = 'sqlite' as const;
  readonly description: string;
  private readonly idle: Database.Database[] = [];
  private readonly open = new Set<Database.Database>();
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
  ) {
    this.description = file;
  }

  async acquire(): Promise<DriverConnection> {
    if (this.closed) throw new Error(`site database ${this.file} is closed`);
    const db = this.idle.pop() ?? this.connect(await loadBinding());
    return new SqliteConnection(db, (broken) => this.release(db, broken));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    for (const db of this.open) db.close();
    this.open.clear();
  }

  private connect(Binding: typeof Database): Database.Database {
    const db = new Binding(this.file);
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.busyTimeoutMs))}`);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
    } catch (err) {
      db.close();
      throw err;
    }
    this.open.add(db);
    return db;
  }

  private release(db: Database.Database, broken: boolean): void {
    if (!broken && db.inTransaction) broken = true;
    if (this.closed || broken || this.idle.length >= MAX_IDLE) {
      this.open.delete(db);
      if (db.open) db.close();
      return;
    }
    this.idle.push(db);
  }
}

let binding: Promise<typeof Database> | undefined;

/** better-sqlite3 is a native module: loaded by the first site database opened, not by every import. */
function loadBinding(): Promise<typeof Database> {
  binding ??= import('better-sqlite3').then((mod) => mod.default);
  return binding;
}

class SqliteConnection implements DriverConnection {
  private released = false;

  constructor(
    private readonly db: Database.Database,
    private readonly onRelease: (broken: boolean) => void,
  ) {}

  async query(sql: string, params: readonly SqlValue[]): Promise<Row[]> {
    const statement = this.db.prepare(sql);
    const values = bind(params);
    if (statement.reader) return statement.all(...values) as Row[];
    statement.run(...values);
    return [];
  }

  async run(sql: string, params: readonly SqlValue[]): Promise<RunResult> {
    const statement = this.db.prepare(sql);
    const values = bind(params);
    if (statement.reader) return { changes: statement.all(...values).length };
    return { changes: statement.run(...values).changes };
  }

  async exec(sql: string): Promise<void> {
    this.db.exec(sql);
  }

  async begin(): Promise<void> {
    this.db.exec('BEGIN');
  }

  async commit(): Promise<void> {
    this.db.exec('COMMIT');
  }

  async rollback(): Promise<void> {
    // Some errors (SQLITE_FULL, a busy COMMIT…) end the transaction by themselves.
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  release(broken = false): void {
    if (this.released) return;
    this.released = true;
    this.onRelease(broken);
  }
}

function bind(params: readonly SqlValue[]): SqliteBindable[] {
  return params.map((value) => {
    if (value === undefined || value === null) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (value instanceof Date) return value.toISOString();
    if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value);
    return value;
  });
}
