// `bench worker` / `bench worker-pool`: the supervisor process (Sidekiq's Launcher). It runs N worker
// processes through its Manager, each of which claims and runs jobs on its own Redis connection, and
// does what must go on even while a job keeps a worker process busy: it renews their liveness stamps,
// writes their heartbeats, runs the reaper that hands back the jobs of dead worker processes (of any
// supervisor), and obeys stop-job. Shutdown: the first stop() is warm (worker processes claim no more
// and finish their jobs), a second is cold (they are killed and their jobs handed back, unblamed).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Redis } from '../redis/client-type.js';
import { getQueueSpec, type BenchConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { Heartbeat, HEARTBEAT_INTERVAL_MS, utilizationPercent } from '../monitor/heartbeat.js';
import { closeRedis, createRedis, type RedisCredentials } from '../redis/connection.js';
import { listenForControl } from '../redis/control.js';
import { Manager, type Connection } from './manager.js';
import { Ownership } from './ownership.js';
import type { WorkerStats } from './protocol.js';
import { warnIfLossy } from './redis-checks.js';
import type { DequeueStrategy } from './strategy.js';
import type { WatchHandle } from './watch.js';
import type { WorkerHandle } from './worker-handle.js';

/** How long shutdown waits for Redis to take the last heartbeat removal and QUIT. */
const CLEANUP_DEADLINE_MS = 2000;

export interface SupervisorOptions {
  bench: BenchConfig;
  log: Logger;
  /** Queues to listen to, in priority order; default: every queue of the bench. */
  queues?: readonly string[];
  /** Exit once every listened queue is empty. */
  burst?: boolean;
  strategy?: DequeueStrategy;
  /** Worker processes (Frappe's --num-workers). */
  numWorkers?: number;
  /** Jobs one worker process runs at once. */
  concurrency?: number;
  /** Seconds one blocking wait for new work lasts before a worker process looks again. */
  blockSeconds?: number;
  /** Development: recycle the worker processes when apps/ or the site configs change. */
  watch?: boolean;
  /** `bench worker -u / -p`: override the config's Redis credentials here and in the worker processes. */
  credentials?: RedisCredentials;
}

/** What a connected supervisor holds; it exists only once connected, so nothing in it is optional. */
interface Running {
  redis: Redis;
  ownership: Ownership;
  heartbeat: Heartbeat;
  manager: Manager;
  connections: Redis[];
  timers: NodeJS.Timeout[];
  watcher: WatchHandle | undefined;
}

export class Supervisor {
  readonly name = `${os.hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`;
  readonly queues: readonly string[];
  private readonly log: Logger;
  /** Its worker processes: they start before the connection is made. */
  private manager: Manager | undefined;
  private running: Running | undefined;
  private stopping = false;
  private cold = false;
  private readonly totals = { successful: 0, failed: 0 };
  /** Ms its ended worker processes spent running jobs, and were alive: for the utilization at stop. */
  private readonly usage = { workingMs: 0, aliveMs: 0 };

  constructor(private readonly options: SupervisorOptions) {
    const { bench } = options;
    this.queues = (options.queues?.length ? options.queues : bench.queues.map((q) => q.name)).map((name) => getQueueSpec(bench, name).name);
    this.log = options.log.child({ supervisor: this.name });
  }

  /** Run until stopped (or, in burst mode, until the queues are empty). */
  async run(): Promise<void> {
    const { bench } = this.options;
    const { settings } = bench;
    const credentials = this.options.credentials ?? {};
    const connection = createRedis(settings, { role: 'worker', log: this.log, ...credentials }).then((redis) => ({
      redis,
      ownership: new Ownership(redis, settings.bench_id, this.name, settings.rq_failed_jobs_limit, settings.rq_job_failure_ttl, bench.queues),
    }));
    const manager = new Manager({
      bench,
      log: this.log,
      connection,
      queues: this.queues,
      strategy: this.options.strategy ?? 'default',
      numWorkers: this.options.numWorkers ?? 1,
      concurrency: this.options.concurrency ?? 1,
      burst: this.options.burst ?? false,
      blockSeconds: this.options.blockSeconds ?? 5,
      credentials,
      onGone: (handle) => this.gone(handle),
      onChange: () => void this.beat().catch(() => {}),
    });
    this.manager = manager;
    // The worker processes load (about 0.3 s of CPU each) while this process connects.
    manager.start();
    if (this.cold) manager.kill();
    else if (this.stopping) manager.stop();
    let connected: Connection;
    try {
      connected = await connection;
    } catch (err) {
      manager.kill();
      await manager.whenDone();
      throw err;
    }
    const { redis, ownership } = connected;
    const running: Running = { redis, ownership, heartbeat: new Heartbeat(redis, settings.bench_id), manager, connections: [redis], timers: [], watcher: undefined };
    this.running = running;
    try {
      await warnIfLossy(redis, this.log);
      const subscriber = await createRedis(settings, { role: 'blocking', log: this.log, ...(this.options.credentials ?? {}) });
      running.connections.push(subscriber);
      await listenForControl(subscriber, settings.bench_id, this.log, ({ jobId, queue }) => void this.stopJob(jobId, queue));
      if (this.options.watch) {
        const { watchBench } = await import('./watch.js');
        running.watcher = watchBench(bench, this.log, () => manager.recycleAll());
        await running.watcher.ready;
      }
      this.startTimers(running);
      this.log.info({ queues: this.queues, workerPids: manager.live.map((h) => h.pid), concurrency: this.options.concurrency ?? 1, burst: this.options.burst ?? false }, 'worker started');
      await manager.whenDone();
    } finally {
      await this.cleanup(running);
    }
    const utilization = utilizationPercent(this.usage.workingMs, 0, this.usage.aliveMs, this.options.concurrency ?? 1);
    this.log.info({ ...this.totals, utilizationPercent: utilization }, 'worker stopped');
  }

  /** First call: warm stop. Second call: cold stop. Resolves once every worker process is gone. */
  stop(): Promise<void> {
    const manager = this.manager;
    if (this.stopping) {
      this.cold = true;
      this.log.warn({}, 'cold shutdown: killing worker processes, handing their jobs back');
      manager?.kill();
    } else {
      this.stopping = true;
      this.log.info({}, 'warm shutdown: finishing running jobs, claiming no more');
      manager?.stop();
    }
    return manager ? manager.whenDone() : Promise.resolve();
  }

  private async stopJob(jobId: string, queue: string | undefined): Promise<void> {
    const running = this.running;
    if (!running) return;
    for (const name of queue === undefined ? this.queues : [queue]) {
      if (!this.queues.includes(name)) continue;
      const owner = await running.ownership.jobOwner(name, jobId);
      if (owner && running.manager.stopJob(owner.worker, owner.token)) return;
    }
  }

  private startTimers(running: Running): void {
    const { settings } = this.options.bench;
    const stampMs = settings.worker_lease_ttl * 1000;
    const reapMs = Math.min(5000, Math.max(500, Math.floor(stampMs / 2)));
    const every = (ms: number, task: () => Promise<unknown>, what: string) => {
      const timer = setInterval(() => {
        task().catch((err: unknown) => this.log.warn({ err, task: what }, 'periodic task failed'));
      }, ms);
      timer.unref();
      running.timers.push(timer);
    };
    every(Math.floor(stampMs / 3), () => running.manager.renewStamps(), 'renew stamps');
    every(reapMs, () => this.reap(running, Math.max(250, reapMs - 250)), 'reap');
    every(HEARTBEAT_INTERVAL_MS, () => this.beat(), 'heartbeat');
    // After an outage, renew at once: the stamps may be close to lapsing.
    running.redis.on('ready', () => void running.manager.renewStamps().catch(() => {}));
    void this.beat().catch(() => {});
    void this.reap(running, Math.max(250, reapMs - 250)).catch(() => {});
  }

  private async reap(running: Running, lockMs: number): Promise<void> {
    for (const queue of this.queues) {
      const result = await running.ownership.reap(queue, lockMs, this.options.bench.settings.job_crash_limit);
      if (result && (result.requeued > 0 || result.abandoned > 0)) {
        this.log.warn({ queue, ...result }, 'reaper handed back jobs of dead worker processes');
      }
    }
  }

  private beat(): Promise<void> {
    const running = this.running;
    if (!running) return Promise.resolve();
    const states = running.manager.live
      .filter((h) => h.state === 'running' || h.state === 'leaving')
      .map((h) => ({
        name: h.name,
        pid: h.pid,
        supervisorPid: process.pid,
        queues: this.queues,
        state: h.stats.current.length > 0 ? ('busy' as const) : ('idle' as const),
        currentJobs: h.stats.current,
        successful: h.stats.successful,
        failed: h.stats.failed,
        totalWorkingMs: h.stats.workingMs,
        birth: h.birth,
        concurrency: this.options.concurrency ?? 1,
      }));
    return running.heartbeat.beat(states);
  }

  private gone(handle: WorkerHandle): void {
    addStats(this.totals, handle.stats);
    this.usage.workingMs += handle.stats.workingMs;
    this.usage.aliveMs += Date.now() - handle.birth;
    void this.running?.heartbeat.remove([handle.name]).catch(() => {});
  }

  private async cleanup(running: Running): Promise<void> {
    for (const timer of running.timers) clearInterval(timer);
    await running.watcher?.close();
    const [redis, ...others] = running.connections;
    for (const client of others) client.disconnect();
    if (!redis) return;
    // A supervisor must be able to stop while Redis is unreachable: nothing is waited for when the
    // connection is down, and at most 2 s when it is slow.
    await closeRedis(redis, CLEANUP_DEADLINE_MS);
  }
}

function addStats(totals: { successful: number; failed: number }, stats: WorkerStats): void {
  totals.successful += stats.successful;
  totals.failed += stats.failed;
}
