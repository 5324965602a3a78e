// `bench worker` / `bench worker-pool`: the supervisor process. It alone talks to Redis: it claims
// jobs (only for free slots of its N children x C jobs each), runs them on the children, renews
// their leases, writes every child's heartbeat, runs the reaper that hands back jobs of dead
// workers, and obeys stop-job. Shutdown: the first stop() is warm (no new claims, running jobs
// finish), a second is cold (children killed, their jobs handed back to the front of their queues).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Redis } from 'ioredis';
import { getQueueSpec, type BenchConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { childWorkerName, Heartbeat, HEARTBEAT_INTERVAL_MS } from '../monitor/heartbeat.js';
import { createRedis, withDeadline } from '../redis/connection.js';
import { Broker, type ClaimedJob } from './broker.js';
import { ChildPool } from './child-pool.js';
import type { JobChild } from './job-child.js';
import { listenForControl } from '../redis/control.js';
import { Executor } from './executor.js';
import { warnIfLossy } from './redis-checks.js';
import { orderQueues, type DequeueStrategy } from './strategy.js';
import { watchBench, type WatchHandle } from './watch.js';
import { pause, unlessAborted } from '../util/abortable.js';

/** How long shutdown waits for Redis to take the last heartbeat removal and QUIT. */
const CLEANUP_DEADLINE_MS = 2000;

export interface WorkerOptions {
  bench: BenchConfig;
  log: Logger;
  /** Queues to listen to, in priority order; default: every queue of the bench. */
  queues?: readonly string[];
  /** Exit once every listened queue is empty. */
  burst?: boolean;
  strategy?: DequeueStrategy;
  /** Job-running child processes. */
  numWorkers?: number;
  /** Jobs one child runs at once. */
  concurrency?: number;
  /** Seconds one blocking wait for new work lasts before the worker looks again. */
  blockSeconds?: number;
  /** Development: recycle the children when apps/ or the site configs change. */
  watch?: boolean;
}

export class Worker {
  readonly name = `${os.hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`;
  readonly queues: readonly string[];
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly reapIntervalMs: number;
  private readonly maxStalls: number;
  private readonly pool: ChildPool;
  private readonly connections: Redis[] = [];
  private redis!: Redis;
  private blocking: Redis | undefined;
  private broker!: Broker;
  private executor!: Executor;
  private heartbeat!: Heartbeat;
  private stopping = false;
  /** Set once shutdown has closed the connections. */
  private closed = false;
  private stopped: Promise<void> | undefined;
  /** Aborted when stop() is first called: a claim waiting for an unreachable Redis gives way to it. */
  private readonly stopRequest = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private slotWaiters: (() => void)[] = [];
  private lastQueue: string | undefined;
  private watcher: WatchHandle | undefined;

  constructor(private readonly options: WorkerOptions) {
    const { bench } = options;
    this.queues = (options.queues?.length ? options.queues : bench.queues.map((q) => q.name)).map((name) => getQueueSpec(bench, name).name);
    this.log = options.log.child({ worker: this.name });
    this.leaseMs = bench.settings.worker_lease_ttl * 1000;
    this.reapIntervalMs = Math.min(5000, Math.max(500, Math.floor(this.leaseMs / 2)));
    this.maxStalls = bench.settings.job_crash_limit;
    this.pool = new ChildPool({
      benchPath: bench.path,
      log: this.log,
      size: options.numWorkers ?? 1,
      concurrency: options.concurrency ?? 1,
      maxJobs: bench.settings.worker_max_jobs,
      maxRssBytes: bench.settings.worker_max_memory_mb * 1024 * 1024,
      onRetired: (_child, pid) => {
        if (pid !== undefined) void this.heartbeat?.remove([childWorkerName(pid)]).catch(() => {});
      },
      onStarted: () => {
        if (this.heartbeat) void this.beat().catch(() => {});
      },
    });
  }

  /** Run until stopped (or, in burst mode, until the queues are empty). */
  async run(): Promise<void> {
    const { settings } = this.options.bench;
    this.redis = await this.connect('worker');
    this.broker = new Broker(this.redis, settings.bench_id, this.name);
    this.heartbeat = new Heartbeat(this.redis, settings.bench_id);
    this.executor = new Executor({ broker: this.broker, settings, log: this.log, maxStalls: this.maxStalls, afterJob: (child) => this.pool.afterJob(child) });
    await warnIfLossy(this.redis, this.log);
    await listenForControl(await this.connect('blocking'), settings.bench_id, this.log, ({ jobId }) => this.executor.stop(jobId));
    await this.pool.start();
    if (this.options.watch) {
      this.watcher = watchBench(this.options.bench, this.log, () => {
        void this.pool.recycleAll().then(() => this.wakeSlotWaiters());
      });
      await this.watcher.ready;
    }
    this.startTimers();
    this.log.info({ queues: this.queues, children: this.pool.children.map((c) => c.pid), burst: this.options.burst ?? false }, 'worker started');
    try {
      await this.loop();
      await this.executor.whenIdle();
    } finally {
      await this.cleanup();
    }
    const totals = this.pool.children.map((c) => c.lifetime);
    this.log.info({ successful: sum(totals.map((t) => t.successful)), failed: sum(totals.map((t) => t.failed)) }, 'worker stopped');
  }

  /** First call: warm stop. Second call: cold stop. */
  stop(): Promise<void> {
    if (this.stopping) {
      this.log.warn({ running: this.executor?.running.size ?? 0 }, 'cold shutdown: killing job children, handing their jobs back');
      if (this.executor) this.executor.cold = true;
      void this.pool.kill();
      return this.stopped ?? Promise.resolve();
    }
    this.stopping = true;
    this.stopRequest.abort();
    this.log.info({ running: this.executor?.running.size ?? 0 }, 'warm shutdown: finishing running jobs, claiming no more');
    this.blocking?.disconnect();
    this.wakeSlotWaiters();
    this.stopped = this.executor ? this.executor.whenIdle() : Promise.resolve();
    return this.stopped;
  }

  private async connect(role: 'worker' | 'blocking'): Promise<Redis> {
    const client = await createRedis(this.options.bench.settings, { role, log: this.log });
    if (this.closed) {
      // Made after shutdown closed the others (a connect the stop did not wait for).
      client.disconnect();
      throw new Error('worker stopped');
    }
    this.connections.push(client);
    return client;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      await this.pool.ensureAlive();
      const free = this.pool.freeSlots;
      if (free === 0) {
        await this.nextFreeSlot();
        continue;
      }
      let claimed;
      let nextScheduledMs = -1;
      try {
        // While Redis is unreachable a claim waits for it; a stop must not. A claim overtaken by the
        // stop hands back, unrun, whatever it took (if Redis never answers, it dies with the connection).
        const claim = this.broker.claim(this.claimOrder(), free, this.leaseMs);
        const reply = await unlessAborted(claim, this.stopRequest.signal);
        if (!reply) {
          void claim.then(({ jobs }) => Promise.all(jobs.map((job) => this.handBackUnrun(job)))).catch(() => {});
          break;
        }
        ({ jobs: claimed, nextScheduledMs } = reply);
      } catch (err) {
        this.log.error({ err }, 'claim failed; retrying');
        await pause(1000, this.stopRequest.signal);
        continue;
      }
      if (claimed.length > 0) {
        this.lastQueue = claimed[claimed.length - 1]?.queue;
        for (const job of claimed) {
          const child = this.pool.pick();
          if (!child) {
            // A child started retiring while the claim was in flight: give the job back, unblamed.
            await this.handBackUnrun(job);
            continue;
          }
          const wake = () => this.wakeSlotWaiters();
          const slotFree = (done: JobChild) => {
            this.pool.retireIfDue(done);
            wake();
          };
          void this.executor.execute(job, child, slotFree).finally(wake);
        }
        continue;
      }
      if (this.options.burst) {
        if (this.executor.running.size === 0) return;
        await this.nextFreeSlot();
        continue;
      }
      await this.waitForWork(nextScheduledMs >= 0 ? Date.now() + nextScheduledMs : undefined);
    }
  }

  /** Give a claimed job that never reached a child back to the front of its queue, attempt undone. */
  private handBackUnrun(job: ClaimedJob): Promise<number> {
    return this.broker.release(job, 'unstarted', this.maxStalls, 'claimed but not run', this.options.bench.settings.rq_failed_jobs_limit);
  }

  private nextFreeSlot(): Promise<void> {
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private wakeSlotWaiters(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private claimOrder(): readonly string[] {
    return orderQueues(this.queues, this.options.strategy ?? 'default', this.lastQueue);
  }

  /**
   * Block until a job may be waiting, or a scheduled job falls due (`dueAt`, epoch ms). A watchdog
   * replaces a blocking connection that hangs.
   */
  private async waitForWork(dueAt: number | undefined): Promise<void> {
    const maxSeconds = this.options.blockSeconds ?? 5;
    try {
      // createRedis bounds its own handshake; the deadline below covers the wait itself.
      // With Redis down, making the connection can take up to its connect timeout: a stop need not wait.
      this.blocking ??= await unlessAborted(this.connect('blocking'), this.stopRequest.signal);
      const blocking = this.blocking;
      if (!blocking) return;
      // Measured after the connection is ready, so time spent making it does not delay a due job.
      const blockSeconds = dueAt === undefined ? maxSeconds : Math.max(0.01, Math.min(maxSeconds, (dueAt - Date.now()) / 1000));
      // stop() drops the blocking connection, but a wait queued on a connection that is reconnecting
      // is not always released by that: the stop wins the race instead.
      const wait = withDeadline(this.broker.waitForWork(blocking, this.claimOrder(), blockSeconds), (blockSeconds + 5) * 1000, 'blocking wait hung');
      await unlessAborted(wait, this.stopRequest.signal);
    } catch (err) {
      if (this.stopping) return;
      this.log.warn({ err }, 'blocking wait failed; replacing its connection');
      this.blocking?.disconnect();
      this.blocking = undefined;
      await pause(500, this.stopRequest.signal);
    }
  }

  private startTimers(): void {
    const every = (ms: number, task: () => Promise<unknown>, what: string) => {
      const timer = setInterval(() => {
        task().catch((err: unknown) => this.log.warn({ err, task: what }, 'periodic task failed'));
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(Math.floor(this.leaseMs / 3), () => this.renewLeases(), 'renew leases');
    every(this.reapIntervalMs, () => this.reap(), 'reap');
    every(HEARTBEAT_INTERVAL_MS, () => this.beat(), 'heartbeat');
    void this.beat().catch(() => {});
    void this.reap().catch(() => {});
  }

  private async renewLeases(): Promise<void> {
    const byQueue = new Map<string, { id: string; token: string }[]>();
    for (const { job } of this.executor.running.values()) {
      const list = byQueue.get(job.queue) ?? [];
      list.push({ id: job.id, token: job.token });
      byQueue.set(job.queue, list);
    }
    for (const [queue, jobs] of byQueue) {
      for (const id of await this.broker.extendLeases(queue, jobs, this.leaseMs)) this.executor.leaseLost(id);
    }
  }

  private async reap(): Promise<void> {
    const lockMs = Math.max(250, this.reapIntervalMs - 250);
    for (const queue of this.queues) {
      const result = await this.broker.reap(queue, lockMs, this.maxStalls, this.options.bench.settings.rq_failed_jobs_limit);
      if (result && (result.requeued > 0 || result.abandoned > 0)) {
        this.log.warn({ queue, ...result }, 'reaper handed back jobs of dead workers');
      }
    }
  }

  private beat(): Promise<void> {
    const states = this.pool.children
      .filter((child) => child.alive && child.pid !== undefined)
      .map((child) => ({
        name: childWorkerName(child.pid as number),
        pid: child.pid as number,
        supervisorPid: process.pid,
        queues: this.queues,
        state: child.runningJobs > 0 ? ('busy' as const) : ('idle' as const),
        currentJobs: child.currentJobs,
        ...child.stats,
        birth: child.birth,
      }));
    return this.heartbeat.beat(states);
  }

  private async cleanup(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.watcher?.close();
    const names = this.pool.children.filter((c) => c.pid !== undefined).map((c) => childWorkerName(c.pid as number));
    await this.pool.stop();
    this.closed = true;
    for (const client of this.connections) {
      if (client === this.redis) continue;
      client.disconnect();
    }
    // A worker must be able to stop while Redis is unreachable (its heartbeat entries then expire):
    // nothing is waited for when the connection is down, and at most 2 s each when it is slow.
    if (this.redis.status !== 'ready') {
      this.redis.disconnect();
      return;
    }
    await withDeadline(this.heartbeat.remove(names), CLEANUP_DEADLINE_MS, 'heartbeat removal timed out').catch(() => {});
    await withDeadline(this.redis.quit(), CLEANUP_DEADLINE_MS, 'quit timed out').catch(() => this.redis.disconnect());
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
