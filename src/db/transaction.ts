// One transaction on a site database, begun lazily by its first statement, with Frappe's
// after-commit machinery: afterCommit callbacks, enqueueAfterCommit and realtime messages buffered
// until COMMIT, run in the order they were added once it succeeds, and dropped on rollback.
// A job runs inside one of these (src/jobs/execute.ts); app code gets one from SiteDatabase.transaction.
import type { BenchConfig } from '../config/load.js';
import { BenchError, isBenchError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { EnqueueOptions, JobMethod } from '../vocabulary.js';
import { realtimeEnvelope, type RealtimeEnvelope, type TransactionalRealtimeOptions } from '../realtime/realtime.js';
import type { DbDriver, Dialect, DriverConnection, Queryable, Row, RunResult, SqlValue } from './types.js';

export type AfterCommitCallback = () => unknown;

/** The producer, as a transaction sees it (handed in, so that this layer imports none of it). */
export interface AfterCommitEnqueue {
  /**
   * Throws when the job could never be enqueued: kwargs that are not JSON, an unknown queue, a method
   * whose module is missing (or, with `installedApps`, whose app is not installed on the job's site).
   */
  check(method: JobMethod, options: Partial<EnqueueOptions>, installedApps: readonly string[] | undefined): void;
  /** Enqueue the job (after the commit). */
  enqueue(method: JobMethod, options: EnqueueOptions): Promise<unknown>;
}

/** What a transaction needs besides its database. */
export interface TransactionServices {
  /** Site of the database: enqueueAfterCommit's default site and the realtime namespace. */
  site: string;
  bench: BenchConfig;
  log: Logger;
  /** Apps installed on the site (enqueueAfterCommit checks the method's app against them). */
  installedApps?: readonly string[] | undefined;
  /** How enqueueAfterCommit checks and enqueues a job. Without it, enqueueAfterCommit refuses. */
  enqueue?: AfterCommitEnqueue | undefined;
  /** Publish a realtime message; never rejects. Without it, messages are dropped. */
  publish?: ((envelope: RealtimeEnvelope) => Promise<void>) | undefined;
}

type State = 'open' | 'committed' | 'rolled back';

export class Transaction implements Queryable {
  readonly dialect: Dialect;
  private connection: Promise<DriverConnection> | undefined;
  private callbacks: AfterCommitCallback[] = [];
  private state: State = 'open';

  constructor(
    private readonly driver: DbDriver,
    private readonly services: TransactionServices,
  ) {
    this.dialect = driver.dialect;
  }

  /** True once a statement has run (a connection is held and BEGIN was sent). */
  get begun(): boolean {
    return this.connection !== undefined;
  }

  async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await (await this.conn()).query(sql, params)) as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return (await this.conn()).run(sql, params);
  }

  async exec(sql: string): Promise<void> {
    await (await this.conn()).exec(sql);
  }

  /** Run `callback` once this transaction commits; never if it rolls back (Frappe's db.after_commit.add). */
  afterCommit(callback: AfterCommitCallback): void {
    this.assertOpen('afterCommit');
    if (typeof callback !== 'function') throw new BenchError('ERR_DB', 'afterCommit needs a function');
    this.callbacks.push(callback);
  }

  /**
   * Enqueue a job once this transaction commits (Frappe's enqueue_after_commit); nothing reaches
   * Redis if it rolls back. The method, queue and kwargs are checked now, so a mistake fails the
   * transaction instead of surfacing after the commit. `site` defaults to this database's site.
   */
  enqueueAfterCommit(method: JobMethod, options: Partial<EnqueueOptions> = {}): void {
    this.assertOpen('enqueueAfterCommit');
    const producer = this.services.enqueue;
    if (!producer) throw new BenchError('ERR_DB', 'enqueueAfterCommit is not available here (no Redis client)');
    const site = options.site ?? this.services.site;
    producer.check(method, options, site === this.services.site ? this.services.installedApps : undefined);
    this.callbacks.push(() => producer.enqueue(method, { ...options, site }));
  }

  /**
   * Publish a realtime message on realtime_channel (`events`): now, or with `afterCommit` once this transaction
   * commits (dropped on rollback; task progress is never held back). Never rejects.
   */
  async publishRealtime(event: string, message?: unknown, options: TransactionalRealtimeOptions = {}): Promise<void> {
    const envelope = realtimeEnvelope(this.services.site, event, message, options);
    const publish = this.services.publish;
    if (!publish) return;
    if (options.afterCommit && options.taskId === undefined) {
      this.afterCommit(() => publish(envelope));
      return;
    }
    await publish(envelope);
  }

  /** COMMIT (when a statement ran). After-commit callbacks wait for runAfterCommit(). */
  async commit(): Promise<void> {
    this.assertOpen('commit');
    const pending = this.connection;
    if (pending) {
      // On failure the transaction stays open here: the caller's rollback() cleans up.
      const conn = await pending;
      await conn.commit();
      conn.release();
    }
    this.state = 'committed';
  }

  /**
   * Run the after-commit callbacks in order, each once, all of them even when one fails; then
   * throw ERR_AFTER_COMMIT naming the first failure (the data is committed either way).
   */
  async runAfterCommit(): Promise<void> {
    if (this.state !== 'committed') throw new BenchError('ERR_DB', 'after-commit callbacks run only after a commit');
    const failures: unknown[] = [];
    while (this.callbacks.length > 0) {
      const callback = this.callbacks.shift() as AfterCommitCallback;
      try {
        await callback();
      } catch (err) {
        failures.push(err);
        this.services.log.error({ err }, 'after-commit callback failed');
      }
    }
    if (failures.length > 0) {
      const first = failures[0];
      throw new BenchError(
        'ERR_AFTER_COMMIT',
        `the transaction was committed, but ${failures.length} after-commit callback(s) failed; first: ${first instanceof Error ? first.message : String(first)}`,
        { cause: first, details: { failures: failures.length } },
      );
    }
  }

  /** ROLLBACK (when a statement ran) and drop every after-commit callback. Never throws. */
  async rollback(): Promise<void> {
    this.callbacks = [];
    if (this.state !== 'open') return;
    this.state = 'rolled back';
    const pending = this.connection;
    if (!pending) return;
    let conn: DriverConnection;
    try {
      conn = await pending;
    } catch {
      return; // never connected: nothing to roll back
    }
    try {
      await conn.rollback();
      conn.release();
    } catch (err) {
      this.services.log.warn({ err, db: this.driver.description }, 'rollback failed; dropping the connection');
      conn.release(true);
    }
  }

  private conn(): Promise<DriverConnection> {
    this.assertOpen('a statement');
    this.connection ??= this.begin();
    return this.connection;
  }

  private async begin(): Promise<DriverConnection> {
    const conn = await this.driver.acquire().catch((err: unknown) => {
      if (isBenchError(err)) throw err;
      throw new BenchError('ERR_DB', `cannot connect to the database of site "${this.services.site}" (${this.driver.description}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    try {
      await conn.begin();
    } catch (err) {
      conn.release(true);
      throw err;
    }
    return conn;
  }

  private assertOpen(what: string): void {
    if (this.state !== 'open') {
      throw new BenchError('ERR_DB', `${what} on a transaction that is already ${this.state}`);
    }
  }
}
