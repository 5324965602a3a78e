// A supervisor's handle on one worker process: fork it, tell it to start or stop, read what it reports
// (its counts over IPC, overdue jobs on its watchdog pipe), kill it, and learn how it ended. Nothing
// passes through here per job.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { SerializedError } from '../vocabulary.js';
import type { ExecutionRequest } from '../jobs/request.js';
import type { Logger } from '../log/logger.js';
import { setLongTimeout } from '../util/long-timeout.js';
import type { RedisCredentials } from '../redis/connection.js';
import { CREDENTIALS_ENV, WATCH_FD, workerProcessName, type FromWorker, type RetireReason, type ToWorker, type WorkerProcessConfig, type WorkerStats } from './protocol.js';
import { claimToken, parseOverdue } from './watchdog.js';

// Worker processes run the compiled dist/ (fast to start, no TypeScript loader), also when the
// supervisor itself runs from the sources (tests, development: dist/ is built by npm ci and npm test);
// only without a dist/ do they run the sources under tsx.
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const COMPILED = fileURLToPath(new URL(FROM_SOURCES ? '../../dist/worker/worker-process.js' : './worker-process.js', import.meta.url));
const USE_SOURCES = FROM_SOURCES && !existsSync(COMPILED);
const ENTRY = USE_SOURCES ? fileURLToPath(new URL('./worker-process.ts', import.meta.url)) : COMPILED;
/**
 * Node.js options of every worker process: a young generation of at most 2 MiB per semi-space (V8's default
 * grows to 16) and one V8 platform thread instead of one per CPU. Together they take ~30 MiB off each
 * process's RSS at no measured cost in job throughput (docs/performance.md); BENCH_WORKER_NODE_ARGS comes
 * after them, so its own --max-semi-space-size or --v8-pool-size wins.
 */
const DEFAULT_NODE_ARGS = ['--max-semi-space-size=2', '--v8-pool-size=1'];
/** Extra Node.js options for worker processes (profiling, heap limits): BENCH_WORKER_NODE_ARGS, space-separated. */
const EXTRA_NODE_ARGS = (process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);

/** Why the supervisor killed a worker process. */
export type KillReason = 'timeout' | 'stop-job' | 'shutdown' | 'owner lost' | 'unresponsive';

/** How a worker process ended. */
export interface ExitInfo {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the supervisor killed it. */
  killedFor: KillReason | undefined;
  /** It asked to go (retired, drained, or stopped on request) and exited cleanly. */
  clean: boolean;
}

/** A job of this process that the supervisor ends itself once the process is gone. */
export interface Culprit {
  token: string;
  kind: 'timeout' | 'stopped';
}

export type HandleState = 'starting' | 'running' | 'leaving' | 'exited';

export interface HandleEvents {
  message(handle: WorkerHandle, message: FromWorker): void;
  overdue(handle: WorkerHandle, token: string): void;
  exit(handle: WorkerHandle, info: ExitInfo): void;
}

/** How a failure epilogue sent to this process ended. */
export type EpilogueResult = 'done' | 'lost' | 'timed out';

export class WorkerHandle {
  readonly tag = randomBytes(3).toString('hex');
  readonly name: string;
  readonly pid: number;
  /** When it was started (epoch ms). */
  readonly birth = Date.now();
  state: HandleState = 'starting';
  /** Its last report of itself. */
  stats: WorkerStats = { successful: 0, failed: 0, workingMs: 0, jobsRun: 0, current: [], rss: 0 };
  /** Set once it said it leaves (retiring), or that it has nothing more to do (drained, burst mode). */
  leaving: RetireReason | 'drained' | undefined;
  readonly culprits: Culprit[] = [];
  readonly exited: Promise<ExitInfo>;
  private killedFor: KillReason | undefined;
  private stopRequested = false;
  private readonly child: ChildProcess;
  private readonly epilogues = new Map<string, (result: EpilogueResult) => void>();

  constructor(config: Omit<WorkerProcessConfig, 'tag'>, log: Logger, events: HandleEvents, credentials: RedisCredentials = {}) {
    const workerConfig: WorkerProcessConfig = { ...config, tag: this.tag };
    this.child = fork(ENTRY, [JSON.stringify(workerConfig)], {
      cwd: config.benchPath,
      env: credentialsEnv(credentials),
      // The TypeScript loader only where the sources run (tests, development); dist/ needs none.
      execArgv: [...(USE_SOURCES ? ['--import', import.meta.resolve('tsx')] : []), ...DEFAULT_NODE_ARGS, ...EXTRA_NODE_ARGS],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
    });
    this.pid = this.child.pid ?? -1;
    this.name = workerProcessName(this.pid, this.tag);
    this.child.on('message', (message: FromWorker) => {
      if (message.t === 'ready' && this.state === 'starting') this.state = 'running';
      else if (message.t === 'stats') this.stats = message.stats;
      else if (message.t === 'epilogue-done') this.settleEpilogue(message.id, 'done');
      // A retiring process leaves on its own; a drained one (burst) waits for the supervisor's stop.
      if (message.t === 'retiring' || message.t === 'drained') this.leaving = message.t === 'drained' ? 'drained' : message.reason;
      if (message.t === 'retiring' && this.state !== 'exited') this.state = 'leaving';
      events.message(this, message);
    });
    const watch = this.child.stdio[WATCH_FD] as Readable | null | undefined;
    if (watch) {
      createInterface({ input: watch }).on('line', (line) => {
        const overdue = parseOverdue(line);
        if (overdue) events.overdue(this, claimToken(this.tag, overdue.call, overdue.index));
      });
    }
    this.child.on('error', (err) => log.error({ err, worker: this.name }, 'worker process error'));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (exitCode, signal) => {
        this.state = 'exited';
        for (const id of [...this.epilogues.keys()]) this.settleEpilogue(id, 'lost');
        const info: ExitInfo = {
          exitCode,
          signal,
          killedFor: this.killedFor,
          clean: this.killedFor === undefined && exitCode === 0 && (this.stopRequested || this.leaving !== undefined),
        };
        resolve(info);
        events.exit(this, info);
      });
    });
  }

  get alive(): boolean {
    return this.state !== 'exited';
  }

  /** Its stamps are registered: it may claim. */
  go(): void {
    this.send({ t: 'go' });
  }

  /** Warm stop: it claims nothing more, finishes its jobs and exits. */
  stop(): void {
    this.stopRequested = true;
    if (this.state === 'running' || this.state === 'starting') this.state = 'leaving';
    this.send({ t: 'stop' });
  }

  /** SIGKILL it (its jobs are ended or handed back by the supervisor once it is gone). */
  kill(reason: KillReason, culprit?: Culprit): void {
    if (culprit && !this.culprits.some((c) => c.token === culprit.token)) this.culprits.push(culprit);
    if (!this.alive) return;
    this.killedFor ??= reason;
    this.child.kill('SIGKILL');
  }

  /**
   * Run the failure epilogue of a job killed in another process. Resolves when it is done, when this
   * process dies, or after `timeoutMs` (then the process, hung in it, is killed).
   */
  runEpilogue(request: ExecutionRequest, error: SerializedError, timeoutMs: number): Promise<EpilogueResult> {
    if (this.state !== 'running' || this.epilogues.has(request.id)) return Promise.resolve('lost');
    return new Promise((resolve) => {
      // The wait follows the job's timeout, up to 30 days: past Node's 24.8-day timer limit a plain
      // setTimeout fired at once and killed the process running the epilogue.
      const timer = setLongTimeout(
        () => {
          if (!this.settleEpilogue(request.id, 'timed out')) return;
          this.kill('unresponsive');
        },
        timeoutMs,
        { unref: true },
      );
      this.epilogues.set(request.id, (result) => {
        timer.clear();
        resolve(result);
      });
      this.send({ t: 'epilogue', request, error });
    });
  }

  private settleEpilogue(id: string, result: EpilogueResult): boolean {
    const done = this.epilogues.get(id);
    if (!done) return false;
    this.epilogues.delete(id);
    done(result);
    return true;
  }

  private send(message: ToWorker): void {
    if (this.child.connected) this.child.send(message, () => {});
  }
}

/** The environment of a worker process: this one's, with the -u / -p credentials (and only those) in CREDENTIALS_ENV. */
function credentialsEnv(credentials: RedisCredentials): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env[CREDENTIALS_ENV.username];
  delete env[CREDENTIALS_ENV.password];
  if (credentials.username !== undefined) env[CREDENTIALS_ENV.username] = credentials.username;
  if (credentials.password !== undefined) env[CREDENTIALS_ENV.password] = credentials.password;
  return env;
}
