// The supervisor's handle on one job-running child process: fork it, send it jobs, get each job's
// outcome back, abort or kill it. A child that dies ends every job it was running as 'crashed'.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SerializedError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { FromChild, RunRequest } from './child-protocol.js';

export type ChildOutcome =
  | { kind: 'ok'; result: string }
  | { kind: 'error'; error: SerializedError }
  /** The child died; `killed` when the supervisor killed it on purpose (timeout, stop, shutdown). */
  | { kind: 'crashed'; exitCode: number | null; signal: NodeJS.Signals | null; killed: boolean };

// child.ts when running from the sources (under tsx), child.js from the compiled dist/.
const CHILD_ENTRY = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './child.ts' : './child.js', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');

/** How a failure epilogue ended: ran, cut short by the child's death, or hung and killed. */
export type EpilogueResult = 'done' | 'lost' | 'timed out';

export interface ChildStats {
  successful: number;
  failed: number;
  totalWorkingMs: number;
}

export class JobChild {
  private process: ChildProcess | undefined;
  private readonly pending = new Map<string, (outcome: ChildOutcome) => void>();
  /** Failure epilogues of killed jobs running here (they hold a slot, as a job does). */
  private readonly epilogues = new Map<string, (result: EpilogueResult) => void>();
  private exited: Promise<void> = Promise.resolve();
  /** Jobs this child has run since it started (for recycling). */
  jobsRun = 0;
  /** Resident memory the child last reported, bytes. */
  rss = 0;
  /** Set when the child is to be replaced once idle (job count or memory limit). */
  retiring = false;
  /** When the current process started (epoch ms). */
  birth = 0;
  /** Counts of the current process (what monitoring shows for this child). */
  stats: ChildStats = { successful: 0, failed: 0, totalWorkingMs: 0 };
  /** Counts of every process this slot has run, current one included. */
  get lifetime(): ChildStats {
    return {
      successful: this.earlier.successful + this.stats.successful,
      failed: this.earlier.failed + this.stats.failed,
      totalWorkingMs: this.earlier.totalWorkingMs + this.stats.totalWorkingMs,
    };
  }
  private earlier: ChildStats = { successful: 0, failed: 0, totalWorkingMs: 0 };

  constructor(
    private readonly benchPath: string,
    private readonly log: Logger,
    readonly label: string,
    /** Jobs the child may run at once. */
    readonly concurrency: number,
  ) {}

  /** Ids of the jobs running on this child. */
  get currentJobs(): string[] {
    return [...this.pending.keys()];
  }

  /** Slots for more jobs: none while starting, dead or retiring. */
  get freeSlots(): number {
    return this.alive && this.ready && !this.retiring ? Math.max(0, this.concurrency - this.runningJobs) : 0;
  }

  private ready = false;
  private killedOnPurpose = false;

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get alive(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Jobs and failure epilogues running on this child. */
  get runningJobs(): number {
    return this.pending.size + this.epilogues.size;
  }

  /** Fork the child and wait until it reports ready. */
  async start(): Promise<void> {
    this.ready = false;
    this.killedOnPurpose = false;
    this.retiring = false;
    this.rss = 0;
    this.earlier = this.lifetime;
    this.stats = { successful: 0, failed: 0, totalWorkingMs: 0 };
    const child = fork(CHILD_ENTRY, [this.benchPath, String(this.concurrency)], {
      cwd: this.benchPath,
      execArgv: ['--import', TSX_LOADER],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, BENCH_CHILD_LOG_LEVEL: process.env['BENCH_CHILD_LOG_LEVEL'] ?? this.log.level },
    });
    this.process = child;
    this.jobsRun = 0;
    this.birth = Date.now();
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (message: FromChild) => this.onMessage(message));
    child.once('exit', (exitCode, signal) => this.onExit(exitCode, signal));
    await new Promise<void>((resolve, reject) => {
      const onReady = (message: FromChild) => {
        if (message.t !== 'ready') return;
        child.off('message', onReady);
        child.off('exit', onEarlyExit);
        resolve();
      };
      const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null) =>
        reject(new Error(`job child exited before it was ready (code ${String(code)}, signal ${String(signal)})`));
      child.on('message', onReady);
      child.once('exit', onEarlyExit);
    });
    this.ready = true;
    this.log.debug({ child: this.label, childPid: child.pid }, 'job child started');
  }

  /** Run one job; resolves with its outcome (never rejects). */
  run(request: RunRequest): Promise<ChildOutcome> {
    const child = this.process;
    if (!child || !this.alive) return Promise.resolve({ kind: 'crashed', exitCode: null, signal: null, killed: false });
    this.jobsRun++;
    return new Promise((resolve) => {
      this.pending.set(request.id, resolve);
      child.send(request, (err) => {
        if (err && this.pending.delete(request.id)) resolve({ kind: 'crashed', exitCode: null, signal: null, killed: false });
      });
    });
  }

  /**
   * Run the failure epilogue of a job whose child was killed (see EpilogueRequest). Resolves when it
   * is done, when the child dies, or after `timeoutMs` (then the child, hung in it, is killed).
   */
  runEpilogue(job: RunRequest, error: SerializedError, timeoutMs: number): Promise<EpilogueResult> {
    const child = this.process;
    if (!child || !this.alive || this.epilogues.has(job.id)) return Promise.resolve('lost');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (!this.epilogues.delete(job.id)) return;
        resolve('timed out');
        void this.kill();
      }, timeoutMs);
      this.epilogues.set(job.id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      child.send({ t: 'epilogue', job, error }, (err) => {
        if (err && this.epilogues.delete(job.id)) {
          clearTimeout(timer);
          resolve('lost');
        }
      });
    });
  }

  /** Fire the job's AbortSignal inside the child. */
  abort(id: string, reason: string): void {
    if (this.alive) this.process?.send({ t: 'abort', id, reason }, () => {});
  }

  /** SIGKILL the child and wait for it to be gone. Its jobs end as crashed with killed = true. */
  async kill(): Promise<void> {
    if (this.alive) {
      this.killedOnPurpose = true;
      this.process?.kill('SIGKILL');
    }
    await this.exited;
  }

  /** Let the child go: close IPC so it exits on its own once idle, and wait for it. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (!this.alive) return;
    // Idempotent: several jobs of a recycled child may ask for its stop at once.
    if (this.process?.connected) this.process.disconnect();
    const timer = setTimeout(() => this.process?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onMessage(message: FromChild): void {
    if (message.t === 'epilogue-done') {
      const done = this.epilogues.get(message.id);
      this.epilogues.delete(message.id);
      done?.('done');
      return;
    }
    if (message.t !== 'done') return;
    this.rss = message.rss;
    const resolve = this.pending.get(message.id);
    if (!resolve) return;
    this.pending.delete(message.id);
    resolve(message.ok ? { kind: 'ok', result: message.result } : { kind: 'error', error: message.error });
  }

  private onExit(exitCode: number | null, signal: NodeJS.Signals | null): void {
    const crashed: ChildOutcome = { kind: 'crashed', exitCode, signal, killed: this.killedOnPurpose };
    for (const resolve of this.pending.values()) resolve(crashed);
    this.pending.clear();
    // An epilogue cut short by the child's death is not run again; resolving here frees its slot.
    for (const done of this.epilogues.values()) done('lost');
    this.epilogues.clear();
    this.log.debug({ child: this.label, exitCode, signal }, 'job child exited');
  }
}
