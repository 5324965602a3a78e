// `bench worker`: the supervisor process. It alone talks to Redis: it claims jobs (only for free
// slots), runs them on job-running child processes, renews their leases, beats its heartbeat, and
// runs the reaper that hands back jobs of dead workers. Shutdown: the first stop() is warm (no new
// claims, running jobs finish), a second is cold (children killed, their jobs handed back).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { getQueueSpec, type BenchConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { Heartbeat, HEARTBEAT_INTERVAL_MS } from '../monitor/heartbeat.js';
import { createRedis } from '../redis/connection.js';
import { Broker } from './broker.js';
import { Executor } from './executor.js';
import { JobChild } from './job-child.js';
import { orderQueues, type DequeueStrategy } from './strategy.js';

export interface WorkerOptions {
  bench: BenchConfig;
  log: Logger;
  /** Queues to listen to, in priority order; default: every queue of the bench. */
  queues?: readonly string[];
  /** Exit once every listened queue is empty. */
  burst?: boolean;
  strategy?: DequeueStrategy;
  /** Jobs one child runs at once. */
  concurrency?: number;
  /** Seconds one blocking wait for new work lasts before the worker looks again. */
  blockSeconds?: number;
}

export class Worker {
  readonly name = `${os.hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`;
  readonly queues: readonly string[];
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly reapIntervalMs: number;
  private readonly maxStalls: number;
  private readonly concurrency: number;
  private redis!: Redis;
  private blocking: Redis | undefined;
  private broker!: Broker;
  private executor!: Executor;
  private heartbeat!: Heartbeat;
  private child!: JobChild;
  private childReady: Promise<void> = Promise.resolve();
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private slotWaiters: (() => void)[] = [];
  private lastQueue: string | undefined;
  private readonly birth = Date.now();

  constructor(private readonly options: WorkerOptions) {
    this.queues = (options.queues?.length ? options.queues : options.bench.queues.map((q) => q.name)).map(
      (name) => getQueueSpec(options.bench, name).name,
    );
    this.log = options.log.child({ worker: this.name });
    this.leaseMs = options.bench.settings.worker_lease_ttl * 1000;
    this.reapIntervalMs = Math.min(5000, Math.max(500, Math.floor(this.leaseMs / 2)));
    this.maxStalls = options.bench.settings.job_crash_limit;
    this.concurrency = options.concurrency ?? 1;
  }

  /** Run until stopped (or, in burst mode, until the queues are empty). */
  async run(): Promise<void> {
    const { settings } = this.options.bench;
    this.redis = await createRedis(settings, { role: 'worker', log: this.log });
    this.broker = new Broker(this.redis, settings.bench_id, this.name);
    this.heartbeat = new Heartbeat(this.redis, settings.bench_id);
    this.executor = new Executor({
      broker: this.broker,
      settings,
      log: this.log,
      maxStalls: this.maxStalls,
      onChildKilled: () => this.replaceChild(),
    });
    this.child = new JobChild(this.options.bench.path, this.log, 'child-1');
    await this.child.start();
    this.startTimers();
    this.log.info({ queues: this.queues, burst: this.options.burst ?? false, pid: process.pid }, 'worker started');
    try {
      await this.loop();
      await this.executor.whenIdle();
    } finally {
      await this.cleanup();
    }
    this.log.info({ successful: this.executor.stats.successful, failed: this.executor.stats.failed }, 'worker stopped');
  }

  /** First call: warm stop. Second call: cold stop. */
  stop(): Promise<void> {
    if (this.stopping) {
      this.log.warn({ running: this.executor?.running.size ?? 0 }, 'cold shutdown: killing job children, handing their jobs back');
      if (this.executor) this.executor.cold = true;
      void this.child?.kill();
      return this.stopped ?? Promise.resolve();
    }
    this.stopping = true;
    this.log.info({ running: this.executor?.running.size ?? 0 }, 'warm shutdown: finishing running jobs, claiming no more');
    this.blocking?.disconnect();
    this.wakeSlotWaiters();
    this.stopped = this.executor ? this.executor.whenIdle() : Promise.resolve();
    return this.stopped;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (!this.child.alive) {
        this.replaceChild();
        await this.childReady;
        continue;
      }
      const free = this.freeSlots();
      if (free === 0) {
        await this.nextFreeSlot();
        continue;
      }
      let claimed;
      try {
        claimed = await this.broker.claim(this.claimOrder(), free, this.leaseMs);
      } catch (err) {
        this.log.error({ err }, 'claim failed; retrying');
        await delay(1000);
        continue;
      }
      if (claimed.length > 0) {
        this.lastQueue = claimed[claimed.length - 1]?.queue;
        for (const job of claimed) void this.executor.execute(job, this.child).finally(() => this.wakeSlotWaiters());
        continue;
      }
      if (this.options.burst) {
        if (this.executor.running.size === 0) return;
        await this.nextFreeSlot();
        continue;
      }
      await this.waitForWork();
    }
  }

  private freeSlots(): number {
    return this.child.alive ? Math.max(0, this.concurrency - this.child.runningJobs) : 0;
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

  /** Block until a job may be waiting. A watchdog replaces a blocking connection that hangs. */
  private async waitForWork(): Promise<void> {
    const blockSeconds = this.options.blockSeconds ?? 5;
    try {
      this.blocking ??= await createRedis(this.options.bench.settings, { role: 'blocking', log: this.log });
      const blocking = this.blocking;
      let watchdog: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => {
        watchdog = setTimeout(() => reject(new Error('blocking wait hung')), (blockSeconds + 5) * 1000);
      });
      try {
        await Promise.race([this.broker.waitForWork(blocking, this.claimOrder(), blockSeconds), hung]);
      } finally {
        clearTimeout(watchdog);
      }
    } catch (err) {
      if (this.stopping) return;
      this.log.warn({ err }, 'blocking wait failed; replacing its connection');
      this.blocking?.disconnect();
      this.blocking = undefined;
      await delay(500);
    }
  }

  private replaceChild(): void {
    if (this.stopping || this.child.alive) return;
    this.childReady = this.child.start().then(
      () => this.wakeSlotWaiters(),
      async (err: unknown) => {
        this.log.error({ err }, 'job child failed to start; retrying');
        await delay(1000);
      },
    );
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
      const result = await this.broker.reap(queue, lockMs, this.maxStalls);
      if (result && (result.requeued > 0 || result.abandoned > 0)) {
        this.log.warn({ queue, ...result }, 'reaper handed back jobs of dead workers');
      }
    }
  }

  private beat(): Promise<void> {
    const running = [...this.executor.running.keys()];
    return this.heartbeat.beat({
      name: this.name,
      queues: this.queues,
      state: running.length > 0 ? 'busy' : 'idle',
      currentJobs: running,
      ...this.executor.stats,
      birth: this.birth,
    });
  }

  private async cleanup(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.childReady;
    await this.child.stop();
    this.blocking?.disconnect();
    await this.heartbeat.remove(this.name).catch(() => {});
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
