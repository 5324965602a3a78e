// Runs claimed jobs on the worker's child processes and records each outcome through the fenced
// scripts: finished / failed, or handed back to the queue when the child died under it. Enforces
// timeouts from outside the job: AbortSignal first, then SIGKILL of the child after a grace period.
import { BenchError, serializeError, type SerializedError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { BenchSettings } from '../config/schema.js';
import type { Broker, ClaimedJob } from './broker.js';
import type { ChildOutcome, JobChild } from './job-child.js';
import type { RunRequest } from './child-protocol.js';
import { nextRetryDelayMs } from '../queue/retry.js';
import { withDeadline } from '../redis/connection.js';

/** How long a cold shutdown waits for Redis to take back one job. */
const COLD_HAND_BACK_MS = 2000;

export interface RunningJob {
  job: ClaimedJob;
  child: JobChild;
  startedAt: number;
  timedOut: boolean;
  leaseLost: boolean;
  /** Stopped by an operator (stop-job): ends as 'stopped'. */
  stopped: boolean;
  timers: NodeJS.Timeout[];
  /** Set when the job failed with its child killed under it: the failure epilogue still to run. */
  epilogue?: SerializedError;
}

export interface ExecutorOptions {
  broker: Broker;
  settings: Readonly<BenchSettings>;
  log: Logger;
  /** Crash hand-backs allowed before a job fails as abandoned. */
  maxStalls: number;
  /** Called after every job with the child it ran on (to replace or recycle that child). */
  afterJob(child: JobChild): Promise<void>;
}

export class Executor {
  readonly running = new Map<string, RunningJob>();
  /** Set on cold shutdown: jobs ended by killed children are handed back, never failed. */
  cold = false;
  private idleWaiters: (() => void)[] = [];
  /** Failure epilogues decided but not yet over (they keep the executor busy). */
  private epiloguesDue = 0;

  constructor(private readonly options: ExecutorOptions) {}

  /**
   * Start `job` on `child`; resolves when its outcome is recorded in Redis. `slotFree` is called as
   * soon as the child is done with it, so the next claim overlaps this job's finish round trip.
   */
  async execute(job: ClaimedJob, child: JobChild, slotFree: (child: JobChild) => void = () => {}): Promise<void> {
    const timeoutSeconds = Number(job.fields['timeout'] ?? 300);
    const entry: RunningJob = { job, child, startedAt: Date.now(), timedOut: false, leaseLost: false, stopped: false, timers: [] };
    this.running.set(job.id, entry);
    entry.timers.push(setTimeout(() => this.onTimeout(entry, timeoutSeconds), timeoutSeconds * 1000));
    const log = this.options.log.child({ jobId: job.id, method: job.fields['method'], site: job.fields['site'], queue: job.queue });
    log.info({ attempt: Number(job.fields['attempts'] ?? 1) }, 'job started');
    try {
      const outcome = await child.run(toRunRequest(job, timeoutSeconds));
      slotFree(child);
      await this.record(entry, outcome, log);
    } catch (err) {
      log.error({ err }, 'job outcome could not be recorded; the reaper will hand the job back when its lease expires');
    } finally {
      for (const timer of entry.timers) clearTimeout(timer);
      this.running.delete(job.id);
      child.stats.totalWorkingMs += Date.now() - entry.startedAt;
      await this.options.afterJob(child).catch((err: unknown) => log.error({ err }, 'job child could not be replaced'));
      if (entry.epilogue) await this.runEpilogue(entry, entry.epilogue, child, log);
      if (this.idle) this.notifyIdle();
    }
  }

  private get idle(): boolean {
    return this.running.size === 0 && this.epiloguesDue === 0;
  }

  /**
   * A job failed with its child killed under it, so the child never ran the job's end: have the
   * (replaced) child write the Error Log row and run the after_job hooks, the onFailure callback and
   * the job_failed event, as a failed job's own child does.
   */
  private async runEpilogue(entry: RunningJob, error: SerializedError, child: JobChild, log: Logger): Promise<void> {
    try {
      if (!child.alive) {
        log.warn({ err: error }, 'failure epilogue skipped: no job child left to run it (worker stopping)');
        return;
      }
      const timeoutSeconds = Math.max(30, Number(entry.job.fields['timeout'] ?? 300));
      const result = await child.runEpilogue(toRunRequest(entry.job, timeoutSeconds), error, timeoutSeconds * 1000);
      if (result !== 'done') log.warn({ result }, 'failure epilogue of a killed job did not complete');
    } finally {
      this.epiloguesDue--;
    }
  }

  /** Stop a running job (stop-job): its child is killed and the job ends as 'stopped'. */
  stop(id: string): boolean {
    const entry = this.running.get(id);
    if (!entry || entry.stopped) return false;
    entry.stopped = true;
    this.options.log.warn({ jobId: id }, 'stopping job on request; killing its child');
    void entry.child.kill();
    return true;
  }

  /** Abort (and soon kill) the job's child: its lease was taken over by someone else. */
  leaseLost(id: string): void {
    const entry = this.running.get(id);
    if (!entry || entry.leaseLost) return;
    entry.leaseLost = true;
    this.options.log.warn({ jobId: id }, 'job lease lost; aborting it, its result will not be recorded');
    this.killAfterAbort(entry, 'the job lease was lost', 0);
  }

  /** Resolves once no job is running. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private onTimeout(entry: RunningJob, timeoutSeconds: number): void {
    entry.timedOut = true;
    this.options.log.warn({ jobId: entry.job.id, timeoutSeconds }, 'job timed out; aborting it');
    this.killAfterAbort(entry, `job exceeded its timeout of ${timeoutSeconds} s`, this.options.settings.job_timeout_grace * 1000);
  }

  private killAfterAbort(entry: RunningJob, reason: string, graceMs: number): void {
    entry.child.abort(entry.job.id, reason);
    entry.timers.push(
      setTimeout(() => {
        if (!this.running.has(entry.job.id)) return;
        void entry.child.kill();
      }, graceMs),
    );
  }

  private async record(entry: RunningJob, outcome: ChildOutcome, log: Logger): Promise<void> {
    const { job } = entry;
    const durationMs = Date.now() - entry.startedAt;
    if (entry.leaseLost) return;
    if (entry.stopped) {
      const error = serializeError(new BenchError('ERR_JOB_STOPPED', 'job stopped by request; its child process was killed'));
      const code = await this.options.broker.finish(job, 'stopped', JSON.stringify(error), Number(job.fields['fttl']), this.options.settings.rq_failed_jobs_limit);
      entry.child.stats.failed++;
      log.warn({ durationMs, code }, 'job stopped');
      return;
    }
    if (outcome.kind === 'crashed' && !entry.timedOut) {
      await this.handBack(entry, outcome, log);
      return;
    }
    if (outcome.kind === 'ok' && !entry.timedOut) {
      const code = await this.options.broker.finish(job, 'finished', outcome.result, Number(job.fields['rttl']), 0);
      entry.child.stats.successful++;
      logFinish(log, code, durationMs, 'job finished');
      return;
    }
    const error: SerializedError = entry.timedOut ? timeoutError(job, outcome) : (outcome as { error: SerializedError }).error;
    // Killed past its grace period: the child never ran the job's end, so run it elsewhere.
    if (outcome.kind === 'crashed') this.epilogueDue(entry, error);
    const retry = retryOf(job, error);
    const code = await this.options.broker.finish(
      job,
      'failed',
      JSON.stringify(error),
      Number(job.fields['fttl']),
      this.options.settings.rq_failed_jobs_limit,
      retry,
    );
    entry.child.stats.failed++;
    if (code === 2) log.warn({ durationMs, err: error, retryInMs: retry?.delayMs }, 'job failed; retry scheduled');
    else log.warn({ durationMs, err: error, code }, 'job failed');
  }

  private epilogueDue(entry: RunningJob, error: SerializedError): void {
    entry.epilogue = error;
    this.epiloguesDue++;
  }

  /** The child died under the job. If we killed it (another job's timeout, cold shutdown) the job is not to blame. */
  private async handBack(entry: RunningJob, outcome: Extract<ChildOutcome, { kind: 'crashed' }>, log: Logger): Promise<void> {
    const blameless = this.cold || outcome.killed;
    const reason = blameless ? 'worker stopped' : `child process died (exit code ${String(outcome.exitCode)}, signal ${String(outcome.signal)})`;
    const release = this.options.broker.release(entry.job, blameless ? 'blameless' : 'crash', this.options.maxStalls, reason, this.options.settings.rq_failed_jobs_limit);
    // A cold shutdown does not wait for an unreachable Redis: the lease then hands the job back.
    const result = this.cold ? await withDeadline(release, COLD_HAND_BACK_MS, 'hand-back timed out') : await release;
    if (result === 1) log.warn({ reason }, 'job handed back to its queue');
    else if (result === 0) {
      entry.child.stats.failed++;
      log.error({ reason, maxStalls: this.options.maxStalls }, 'job failed as abandoned: it took down its worker too often');
      // The error the release script stored (see includes/requeueOrAbandon.lua).
      const stalls = Number(entry.job.fields['stalls'] ?? 0) + 1;
      this.epilogueDue(entry, { name: 'AbandonedJobError', code: 'ERR_JOB_CRASHED', message: `abandoned: ${reason} ${stalls} times (limit ${this.options.maxStalls})` });
    } else log.warn({ reason }, 'job lease already lost; not handed back');
  }
}

function logFinish(log: Logger, code: number, durationMs: number, message: string): void {
  if (code === 1 || code === 0) log.info({ durationMs }, message);
  else log.warn({ durationMs, code }, 'job result discarded: its lease was lost (it may run again elsewhere)');
}

/** The retry of a failed job under its policy (with every attempt's error so far), if any remain. */
function retryOf(job: ClaimedJob, error: SerializedError): { delayMs: number; history: string } | undefined {
  const policy = job.fields['retry'];
  if (!policy) return undefined;
  const earlier = job.fields['errors'] ? (JSON.parse(job.fields['errors']) as SerializedError[]) : [];
  const history = JSON.stringify([...earlier, error]);
  const delayMs = nextRetryDelayMs(policy, Number(job.fields['retries'] ?? 0));
  // Out of retries: fail, still keeping every attempt's error.
  return { delayMs: delayMs ?? 0, history };
}

function timeoutError(job: ClaimedJob, outcome: ChildOutcome): SerializedError {
  const timeout = job.fields['timeout'] ?? '?';
  const err = serializeError(new BenchError('ERR_JOB_TIMEOUT', `job exceeded its timeout of ${timeout} s and was stopped`));
  if (outcome.kind === 'error') err.stack = `${err.stack ?? ''}\nCaused by: ${outcome.error.stack ?? outcome.error.message}`;
  return err;
}

function toRunRequest(job: ClaimedJob, timeout: number): RunRequest {
  const f = job.fields;
  return {
    t: 'run',
    id: job.id,
    site: f['site'] ?? '',
    queue: job.queue,
    method: f['method'] ?? '',
    jobName: f['name'] ?? f['method'] ?? '',
    kwargs: f['kwargs'] ?? '{}',
    user: f['user'],
    timeout,
    attempt: Number(f['attempts'] ?? 1),
    event: f['event'],
    onSuccess: f['onSuccess'],
    onFailure: f['onFailure'],
    doc: f['doctype'] !== undefined && f['docname'] !== undefined ? { doctype: f['doctype'], name: f['docname'] } : undefined,
  };
}
