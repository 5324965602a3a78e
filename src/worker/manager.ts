// The supervisor's worker processes (Sidekiq's Manager): it starts N of them, registers and renews their
// liveness stamps, kills one whose job is past its timeout + grace (its watchdog says so), whose job an
// operator stops, or whose stamp lapsed, settles the jobs of each one that ends (post-mortem.ts), and
// replaces it. Recycling is rolling: a process that reached its job or memory limit says so, its
// replacement starts at once, and it finishes its own jobs meanwhile, so no slot waits for a drain.
import type { RedisCredentials } from '../redis/connection.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { BenchConfig } from '../config/load.js';
import type { SerializedError } from '../vocabulary.js';
import type { ExecutionRequest } from '../jobs/request.js';
import type { Logger } from '../log/logger.js';
import { Fetcher } from './fetcher.js';
import type { Ownership } from './ownership.js';
import { postMortem } from './post-mortem.js';
import type { FromWorker, WorkerProcessConfig } from './protocol.js';
import type { DequeueStrategy } from './strategy.js';
import { WorkerHandle, type ExitInfo, type KillReason } from './worker-handle.js';
import type { Redis } from '../redis/client-type.js';

/** How long a killed job's failure epilogue may wait for a live worker process, and then run. */
const EPILOGUE_WAIT_MS = 30_000;

/** The supervisor's Redis connection, and its ownership records on it. */
export interface Connection {
  redis: Redis;
  ownership: Ownership;
}

export interface ManagerOptions {
  bench: BenchConfig;
  log: Logger;
  /**
   * The supervisor's connection, still being made when the first worker processes start (they load
   * meanwhile); a process is let claim only once its stamp is registered on it. When it fails, the
   * supervisor kills the processes and nothing is registered or settled.
   */
  connection: Promise<Connection>;
  queues: readonly string[];
  strategy: DequeueStrategy;
  numWorkers: number;
  concurrency: number;
  burst: boolean;
  blockSeconds: number;
  /** Credentials of `bench worker -u / -p`, handed to each worker process through its environment. */
  credentials?: RedisCredentials | undefined;
  /** A worker process leaves the heartbeat registry (its entry is removed). */
  onGone(handle: WorkerHandle): void;
  /** A worker process started or changed (heartbeat now). */
  onChange(): void;
}

export class Manager {
  private readonly handles = new Set<WorkerHandle>();
  /** Handles whose replacement was started already (rolling recycling). */
  private readonly replaced = new WeakSet<WorkerHandle>();
  /** Stamps registered (only those are renewed). */
  private readonly registered = new WeakSet<WorkerHandle>();
  private readonly settling = new Set<Promise<void>>();
  private readonly doneWaiters: (() => void)[] = [];
  private readonly runningWaiters: (() => void)[] = [];
  /** Failure epilogues of killed jobs not run yet (burst mode keeps a drained process for them). */
  private epiloguesPending = 0;
  private stopping = false;
  private failedStarts = 0;
  private readonly stampMs: number;

  constructor(private readonly options: ManagerOptions) {
    this.stampMs = options.bench.settings.worker_lease_ttl * 1000;
  }

  /** The live worker processes. */
  get live(): WorkerHandle[] {
    return [...this.handles].filter((h) => h.alive);
  }

  start(): void {
    for (let i = 0; i < this.options.numWorkers; i++) this.spawn();
  }

  /** Resolves when every worker process is gone and settled: after stop(), or in burst mode once the queues are empty. */
  whenDone(): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((resolve) => this.doneWaiters.push(resolve));
  }

  /** Warm: every worker process finishes its jobs and exits. */
  stop(): void {
    this.stopping = true;
    for (const handle of this.live) handle.stop();
    this.checkDone();
  }

  /** Cold: kill every worker process; their jobs go back to their queues, unblamed. */
  kill(): void {
    this.stopping = true;
    for (const handle of this.live) handle.kill('shutdown');
  }

  /** Replace every worker process gracefully (development: files changed). */
  recycleAll(): void {
    for (const handle of this.live) {
      if (this.replaced.has(handle)) continue;
      this.replaced.add(handle);
      this.spawn();
      handle.stop();
    }
  }

  /** Renew the stamps of the live worker processes; one whose stamp lapsed is killed and replaced. */
  async renewStamps(): Promise<void> {
    const handles = this.live.filter((h) => this.registered.has(h));
    const byName = new Map(handles.map((h) => [h.name, h]));
    const { ownership } = await this.options.connection;
    for (const queue of this.options.queues) {
      for (const name of await ownership.renew(queue, [...byName.keys()], this.stampMs)) {
        this.options.log.error({ worker: name, queue }, 'worker process lost its liveness stamp (Redis unreachable for too long?); replacing it');
        byName.get(name)?.kill('owner lost');
      }
    }
  }

  /** stop-job: kill the worker process `worker` if it is one of ours; the job with `token` ends as stopped. */
  stopJob(worker: string, token: string): boolean {
    const handle = this.live.find((h) => h.name === worker);
    if (!handle) return false;
    this.options.log.warn({ worker, token }, 'stopping a job on request: killing its worker process');
    handle.kill('stop-job', { token, kind: 'stopped' });
    return true;
  }

  private get done(): boolean {
    const finished = this.stopping || this.options.burst;
    return finished && this.handles.size === 0 && this.settling.size === 0;
  }

  private checkDone(): void {
    if (this.done) for (const resolve of this.doneWaiters.splice(0)) resolve();
  }

  private spawn(): void {
    if (this.stopping) return;
    const { bench, log } = this.options;
    const config: Omit<WorkerProcessConfig, 'tag'> = {
      benchPath: bench.path,
      supervisorPid: process.pid,
      queues: this.options.queues,
      strategy: this.options.strategy,
      concurrency: this.options.concurrency,
      burst: this.options.burst,
      blockSeconds: this.options.blockSeconds,
      maxJobs: withJitter(bench.settings.worker_max_jobs),
      maxRssBytes: bench.settings.worker_max_memory_mb * 1024 * 1024,
      logLevel: process.env['BENCH_WORKER_LOG_LEVEL'] ?? log.level,
    };
    const handle = new WorkerHandle(config, log, {
      message: (h, message) => this.onMessage(h, message),
      overdue: (h, token) => {
        log.warn({ worker: h.name, token }, 'job timed out: still running past its timeout and grace, killing its worker process');
        h.kill('timeout', { token, kind: 'timeout' });
      },
      exit: (h, info) => this.onExit(h, info),
    }, this.options.credentials);
    this.handles.add(handle);
    void this.register(handle);
  }

  /** Stamp the new process in every queue, then let it claim (once it is ready). */
  private async register(handle: WorkerHandle): Promise<void> {
    const connection = await this.options.connection.catch(() => undefined);
    if (!connection) return;
    for (let attempt = 1; handle.alive; attempt++) {
      try {
        for (const queue of this.options.queues) await connection.ownership.register(queue, [handle.name], this.stampMs);
        this.registered.add(handle);
        if (handle.state === 'running') this.ready(handle);
        return;
      } catch (err) {
        this.options.log.error({ err, worker: handle.name, attempt }, 'worker process could not be registered in Redis; retrying');
        await delay(Math.min(1000 * attempt, 10_000));
      }
    }
  }

  private ready(handle: WorkerHandle): void {
    this.failedStarts = 0;
    this.options.log.debug({ worker: handle.name, pid: handle.pid }, 'worker process started');
    handle.go();
    this.options.onChange();
    for (const resolve of this.runningWaiters.splice(0)) resolve();
  }

  private onMessage(handle: WorkerHandle, message: FromWorker): void {
    if (message.t === 'ready' && this.registered.has(handle)) this.ready(handle);
    else if (message.t === 'retiring' && !this.replaced.has(handle)) {
      this.options.log.info({ worker: handle.name, reason: message.reason, jobsRun: handle.stats.jobsRun }, 'recycling worker process: its replacement starts now');
      this.replaced.add(handle);
      this.spawn();
    } else if (message.t === 'owner-lost') handle.kill('owner lost');
    else if (message.t === 'drained') this.releaseDrained();
  }

  /** Burst mode: let drained processes go, unless a killed job's epilogue still needs one of them. */
  private releaseDrained(): void {
    if (this.epiloguesPending > 0) return;
    for (const handle of this.live) if (handle.leaving === 'drained' && handle.state === 'running') handle.stop();
  }

  private onExit(handle: WorkerHandle, info: ExitInfo): void {
    const settled = this.settle(handle, info);
    this.settling.add(settled);
    void settled.finally(() => {
      this.settling.delete(settled);
      this.handles.delete(handle);
      this.options.onGone(handle);
      if (!this.replaced.has(handle) && !this.stopping && !(info.clean && handle.leaving === 'drained')) void this.replace(info);
      this.checkDone();
    });
  }

  /**
   * The post-mortem of an ended worker process, tried again while Redis is unreachable; once the
   * supervisor stops it is given up (the process's stamp then lapses and a reaper hands its jobs back).
   */
  private async settle(handle: WorkerHandle, info: ExitInfo): Promise<void> {
    // Without a connection the process was never let claim: it holds nothing.
    const connection = await this.options.connection.catch(() => undefined);
    if (!connection) return;
    const { redis, ownership } = connection;
    const context = {
      ownership,
      fetcherFor: (owner: string) => new Fetcher(redis, this.options.bench.settings.bench_id, owner, this.stampMs, this.options.bench.settings.rq_failed_jobs_limit, this.options.bench.settings.rq_job_failure_ttl, this.options.bench.queues, undefined, this.options.bench.settings.dashboard_history_days),
      queues: this.options.queues,
      maxStalls: this.options.bench.settings.job_crash_limit,
      failureTtl: this.options.bench.settings.rq_job_failure_ttl,
      log: this.options.log,
      stopping: () => this.stopping,
      connected: () => redis.status === 'ready',
      epilogue: (request: ExecutionRequest, error: SerializedError) => void this.epilogue(request, error),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await postMortem(context, handle, info);
        return;
      } catch (err) {
        if (this.stopping) {
          this.options.log.warn({ err, worker: handle.name }, 'jobs of an ended worker process left to the reaper (Redis unreachable while stopping)');
          return;
        }
        this.options.log.error({ err, worker: handle.name, attempt }, 'jobs of an ended worker process could not be settled; retrying');
        await delay(Math.min(1000 * attempt, 5000));
      }
    }
  }

  /** Start a process in place of one that ended; after repeated failures to start, wait longer each time. */
  private async replace(info: ExitInfo): Promise<void> {
    if (info.killedFor === undefined && !info.clean) {
      this.failedStarts++;
      if (this.failedStarts > 1) await delay(Math.min(1000 * (this.failedStarts - 1), 10_000));
    }
    this.spawn();
  }

  /** Run a killed job's failure epilogue in a live worker process (waiting a while for one to be ready). */
  private async epilogue(request: ExecutionRequest, error: SerializedError): Promise<void> {
    this.epiloguesPending++;
    try {
      await this.runEpilogue(request, error);
    } finally {
      this.epiloguesPending--;
      this.releaseDrained();
    }
  }

  private async runEpilogue(request: ExecutionRequest, error: SerializedError): Promise<void> {
    const deadline = Date.now() + EPILOGUE_WAIT_MS;
    let handle = this.live.find((h) => h.state === 'running');
    while (!handle && !this.stopping && Date.now() < deadline) {
      await Promise.race([new Promise<void>((resolve) => this.runningWaiters.push(resolve)), delay(1000)]);
      handle = this.live.find((h) => h.state === 'running');
    }
    if (!handle) {
      this.options.log.warn({ jobId: request.id }, 'failure epilogue skipped: no worker process left to run it (stopping)');
      return;
    }
    const result = await handle.runEpilogue(request, error, Math.max(30, request.timeout) * 1000);
    if (result !== 'done') this.options.log.warn({ jobId: request.id, result }, 'failure epilogue of a killed job did not complete');
  }
}

export type { KillReason };

/** A job limit plus a random 0-1%, so that the worker processes of a pool do not all retire at once (0: no limit). */
function withJitter(maxJobs: number): number {
  return maxJobs > 0 ? maxJobs + Math.floor(Math.random() * (Math.floor(maxJobs / 100) + 1)) : 0;
}
