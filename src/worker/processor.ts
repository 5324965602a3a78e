// The job loop of a worker process: it claims jobs for its slots, runs them, and records how each ended,
// all on its own Redis connection. It is the one owner of "a job ended" while its process lives.
//   1. Every job that ends in one turn of the event loop is recorded by the next fetch call, which also
//      claims more (one round trip; at concurrency 1, ending a job and claiming the next is that one
//      call). Up to two calls are in flight, each claiming at most half of what the process may hold, so
//      that Redis works on one while this process runs the jobs of the other.
//   2. Bounded, adaptive prefetch: when jobs take less time than a round trip, the process holds a few
//      claimed jobs beyond its slots (enough to cover one round trip, at most max(concurrency, 16)) and
//      starts them as slots free up, so short jobs are claimed and ended in batches. A prefetched job is
//      claimed but not started: when the process stops, or when its slots stay busy (slow jobs), it is
//      handed back unstarted, its attempt undone.
//   3. When the queues are empty it blocks on their wake-up markers (a connection of its own) until an
//      enqueue, or until the next scheduled job is due.
//   4. A job past its timeout gets its AbortSignal fired; one past timeout + job_timeout_grace is
//      reported by the watchdog thread, and the supervisor kills the process.
//   5. It stops claiming when asked to stop, when it reached its job or memory limit (retiring), or when
//      its liveness stamp lapsed; it then finishes its running jobs and ends.
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from '../redis/client-type.js';
import { BenchError, errorForLog, serializeError } from '../errors.js';
import type { SerializedError, JobRecord } from '../vocabulary.js';
import { JobControl } from '../jobs/context.js';
import { executeJob, type ExecutionEnv } from '../jobs/execute.js';
import { executionRequest } from '../jobs/request.js';
import type { Logger } from '../log/logger.js';
import { ScriptCode, scriptCodeName } from '../redis/codes.js';
import { withDeadline } from '../redis/connection.js';
import { pause, unlessAborted } from '../util/abortable.js';
import type { ClaimedJob, EndedJob, Ending, FetchReply, Fetcher, ReleaseMode } from './fetcher.js';
import type { RetireReason, WorkerProcessConfig, WorkerStats } from './protocol.js';
import { failpoint } from './failpoint.js';
import { recordTtl, retryOf, timeoutError } from './endings.js';
import { releaseGhosts } from './ghosts.js';
import { orderQueues } from './strategy.js';
import { claimRequestId, type SlotBoard } from './watchdog.js';

/** Fetch calls in flight at once: Redis ends and claims one batch while this process runs the other. */
const MAX_CALLS_IN_FLIGHT = 2;
/** How often running jobs are checked against their timeout (and prefetched ones against slow slots). */
const SWEEP_MS = 250;
/** How often the process's resident memory is sampled (between jobs) for worker_max_memory_mb. */
const RSS_SAMPLE_MS = 1000;
/** Prefetched jobs wait no longer than this behind running jobs before they are handed back for others. */
const PREFETCH_WAIT_MS = 1000;
/** Weight of the newest sample in the moving averages of job time and round-trip time. */
const EWMA_WEIGHT = 0.2;

export interface ProcessorOptions extends Pick<WorkerProcessConfig, 'tag' | 'queues' | 'strategy' | 'concurrency' | 'burst' | 'blockSeconds' | 'maxJobs' | 'maxRssBytes'> {
  fetcher: Fetcher;
  /** Opens a dedicated connection for the blocking wait. */
  blockingConnection(): Promise<Redis>;
  env: ExecutionEnv;
  log: Logger;
  board: SlotBoard;
  jobTimeoutGraceSeconds: number;
  maxStalls: number;
  /** Told once: the process stops claiming for good (retiring, stamp lost, burst drained). */
  onRetire(reason: RetireReason | 'owner lost' | 'drained'): void;
}

/** One running job. */
interface Running {
  slot: number;
  record: JobRecord;
  token: string;
  /** performance.now() ms. */
  startedAt: number;
  abortAt: number;
  control: JobControl;
  timedOut: boolean;
}

/** A claimed job, with the claim call and index that name its token (for the watchdog). */
interface Held extends ClaimedJob {
  call: number;
  index: number;
}

type State = 'running' | 'stopping' | 'stopped';

export class Processor {
  private readonly slots: (Running | undefined)[];
  private readonly freeSlots: number[];
  private running = 0;
  /** Claimed, not started yet (prefetched), oldest first. */
  private prefetched: Held[] = [];
  /** Jobs asked for by the claims in flight, and how many of them start at once. */
  private reserved = 0;
  private reservedStart = 0;
  private callsInFlight = 0;
  /** Ended jobs sent in calls still in flight (a call that only claims does not hold up a stop). */
  private endsInFlight = 0;
  /** The numbers of the fetch calls in flight, and the claim tokens of the ended jobs they carry (ghosts.ts). */
  private readonly callsOut = new Set<number>();
  private readonly endedOut = new Set<string>();
  private ghostSweep: Promise<unknown> | undefined;
  private calls = 0;
  private ended: EndedJob[] = [];
  /** Jobs that finished since the last 'jobs finished' log line: id, method, queue, attempt, ms. */
  private finishedLog: { id: string; method: string; queue: string; attempt: number; ms: number }[] = [];
  /** Prefetched jobs that started and whose job_started is to be published (only while someone listens). */
  private startedReports: { queue: string; id: string }[] = [];
  private listeners = false;
  private flushScheduled = false;
  /** The last claim got fewer jobs than it asked for: the queues are empty (until a marker says otherwise). */
  private queuesEmpty = false;
  private nextScheduledMs = -1;
  private waiting = false;
  private blocking: Redis | undefined;
  private lastQueue: string | undefined;
  private state: State = 'running';
  /** Claiming is over for good (the reason was reported). */
  private retired = false;
  private readonly stopRequest = new AbortController();
  private readonly sweep: NodeJS.Timeout;
  private readonly idleWaiters: (() => void)[] = [];
  private rssSampledAt = -Infinity;
  /** Hand-backs of claimed jobs in flight. */
  private handBacks = 0;
  /** Moving averages (ms) of how long a job takes and how long a fetch call takes: they size the prefetch. */
  private jobMs: number | undefined;
  private roundTripMs: number | undefined;
  /** When a slot last freed up (performance.now() ms). */
  private lastEndAt = performance.now();
  private readonly maxPrefetch: number;
  private readonly logInfo: boolean;
  readonly stats: WorkerStats = { successful: 0, failed: 0, workingMs: 0, jobsRun: 0, current: [], rss: 0 };

  constructor(private readonly options: ProcessorOptions) {
    this.slots = new Array<Running | undefined>(options.concurrency).fill(undefined);
    this.freeSlots = Array.from({ length: options.concurrency }, (_, i) => options.concurrency - 1 - i);
    this.maxPrefetch = Math.max(options.concurrency, 16);
    this.logInfo = options.log.isLevelEnabled('info');
    this.sweep = setInterval(() => this.sweepSlots(), SWEEP_MS);
    this.sweep.unref();
  }

  /** Start claiming. */
  start(): void {
    this.scheduleFlush();
  }

  /** Ids of the jobs running now. */
  currentJobs(): string[] {
    const ids: string[] = [];
    for (const r of this.slots) if (r) ids.push(r.record.id);
    return ids;
  }

  /**
   * Claim nothing more; prefetched jobs go back unstarted. Resolves once every running job ended and
   * was recorded. A claim still in flight is not waited for: if the process exits before its reply,
   * its jobs are handed back by the supervisor.
   */
  stop(): Promise<void> {
    if (this.state === 'running') {
      this.state = 'stopping';
      this.stopRequest.abort();
      this.blocking?.disconnect();
      this.handBack(this.takePrefetched(), 'unstarted', 'claimed while its worker stopped');
      this.scheduleFlush();
    }
    return this.whenIdle();
  }

  /** The supervisor is gone: hand back, unblamed, what still runs (the process exits right after). */
  async abandon(timeoutMs: number): Promise<void> {
    const running: Held[] = [];
    for (const r of this.slots) if (r) running.push({ record: r.record, token: r.token, call: 0, index: 0 });
    const reason = 'its supervisor went away';
    await Promise.allSettled([
      withDeadline(this.releaseAll(this.takePrefetched(), 'unstarted', reason), timeoutMs, 'hand-back timed out'),
      withDeadline(this.releaseAll(running, 'blameless', reason), timeoutMs, 'hand-back timed out'),
    ]);
  }

  /**
   * After a reconnect: hand back the jobs Redis says this process runs but it does not hold (their end
   * was lost in a failover: ghosts.ts). One sweep at a time; a failed one is logged, the next reconnect
   * tries again.
   */
  sweepGhosts(): Promise<unknown> {
    this.ghostSweep ??= releaseGhosts({
      fetcher: this.options.fetcher,
      queues: this.options.queues,
      holds: (token) => this.holds(token),
      maxStalls: this.options.maxStalls,
      log: this.options.log,
    })
      .catch((err: unknown) => this.options.log.warn({ err }, 'lost job ends could not be looked for; the next reconnect tries again'))
      .finally(() => (this.ghostSweep = undefined));
    return this.ghostSweep;
  }

  /** This process holds the job of claim `token`: running, prefetched, ended and not yet recorded, or claimed by a call in flight. */
  private holds(token: string): boolean {
    if (this.endedOut.has(token) || this.ended.some((job) => job.token === token)) return true;
    if (this.prefetched.some((job) => job.token === token)) return true;
    for (const r of this.slots) if (r?.token === token) return true;
    for (const call of this.callsOut) if (token.startsWith(`${claimRequestId(this.options.tag, call)}:`)) return true;
    return false;
  }

  close(): void {
    this.logFinished();
    clearInterval(this.sweep);
    this.blocking?.disconnect();
    this.state = 'stopped';
  }

  private whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Nothing runs or waits to run, and every ended job is recorded. */
  private get idle(): boolean {
    return this.running === 0 && this.prefetched.length === 0 && this.endsInFlight === 0 && this.ended.length === 0 && this.handBacks === 0;
  }

  private get claiming(): boolean {
    return this.state === 'running' && !this.retired;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Jobs to hold beyond the slots: enough to cover one round trip at the current job time. */
  private prefetchTarget(): number {
    if (this.jobMs === undefined || this.roundTripMs === undefined) return 0;
    const jobsPerRoundTrip = (this.options.concurrency * this.roundTripMs) / Math.max(this.jobMs, 0.001);
    return Math.min(this.maxPrefetch, Math.floor(jobsPerRoundTrip));
  }

  /** Record what ended and claim more, in as many calls as may go out now. */
  private flush(): void {
    this.flushScheduled = false;
    while (this.callsInFlight < MAX_CALLS_IN_FLIGHT) {
      let want = 0;
      let startNow = 0;
      if (this.claiming && !this.queuesEmpty && !this.waiting) {
        const capacity = this.options.concurrency + this.prefetchTarget();
        const held = this.running + this.prefetched.length + this.reserved;
        want = Math.max(0, Math.min(capacity - held, Math.ceil(capacity / MAX_CALLS_IN_FLIGHT)));
        const free = this.options.concurrency - this.running - this.prefetched.length - this.reservedStart;
        startNow = Math.max(0, Math.min(want, free));
      }
      if (this.ended.length === 0 && want === 0 && this.startedReports.length === 0) {
        this.afterQuiet();
        return;
      }
      this.send(want, startNow);
    }
  }

  private send(want: number, startNow: number): void {
    this.logFinished();
    const ended = this.ended;
    const started = this.startedReports;
    this.ended = [];
    this.startedReports = [];
    const order = orderQueues(this.options.queues, this.options.strategy, this.lastQueue);
    const call = ++this.calls;
    this.callsInFlight++;
    this.callsOut.add(call);
    for (const job of ended) this.endedOut.add(job.token);
    this.endsInFlight += ended.length;
    this.reserved += want;
    this.reservedStart += startNow;
    const sentAt = performance.now();
    const sending = this.fetchRetrying(order, ended, started, want, startNow, call);
    if (ended.length > 0) failpoint('ending-in-flight');
    void sending.then((reply) => {
      this.roundTripMs = average(this.roundTripMs, performance.now() - sentAt);
      this.callsInFlight--;
      this.callsOut.delete(call);
      for (const job of ended) this.endedOut.delete(job.token);
      this.endsInFlight -= ended.length;
      this.reserved -= want;
      this.reservedStart -= startNow;
      this.onReply(reply, ended, want, startNow, call);
    });
  }

  /** One fetch call, repeated as is (a replay, see fetch.lua) until Redis takes it. */
  private async fetchRetrying(order: readonly string[], ended: EndedJob[], started: { queue: string; id: string }[], want: number, startNow: number, call: number): Promise<FetchReply> {
    const requestId = claimRequestId(this.options.tag, call);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.options.fetcher.fetch(order, ended, want, requestId, { startNow, started });
      } catch (err) {
        this.options.log.error({ err, attempt, ended: ended.length, claim: want }, 'fetch call failed; retrying');
        await delay(Math.min(1000 * attempt, 5000));
      }
    }
  }

  private onReply(reply: FetchReply, ended: readonly EndedJob[], want: number, startNow: number, call: number): void {
    reply.endCodes.forEach((code, i) => {
      if (code === ScriptCode.LEASE_LOST || code === ScriptCode.NO_JOB) {
        const job = ended[i] as EndedJob;
        this.options.log.warn({ jobId: job.id, queue: job.queue, code: scriptCodeName(code) }, "job result discarded: it was no longer this worker's (it may run again elsewhere)");
      }
    });
    this.listeners = reply.listeners;
    if (!reply.ownerAlive) this.retire('owner lost');
    this.nextScheduledMs = reply.nextScheduledMs;
    if (want > 0) this.queuesEmpty = reply.claimed.length < want && !reply.more;
    const claimed: Held[] = reply.claimed.map((job, i) => ({ ...job, call, index: i + 1 }));
    if (claimed.length > 0) failpoint('after-claim');
    if (this.state !== 'running') {
      this.handBack(claimed, 'unstarted', 'claimed while its worker stopped');
    } else {
      // The first `startNow` claimed jobs had their job_started published by the claim itself.
      claimed.forEach((job, i) => {
        if (this.freeSlots.length > 0) this.startJob(job, i < startNow);
        else {
          this.prefetched.push(job);
          failpoint('prefetched');
        }
      });
    }
    if (reply.claimed.length > 0) this.lastQueue = reply.claimed[reply.claimed.length - 1]?.record.queue;
    this.scheduleFlush();
  }

  /** Nothing to send: wait for work, end (burst), or report idle. */
  private afterQuiet(): void {
    if (this.idle) {
      if (this.options.burst && this.claiming && this.queuesEmpty && this.callsInFlight === 0) this.retire('drained');
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
    if (this.claiming && this.queuesEmpty && !this.waiting && this.callsInFlight === 0 && !this.options.burst) void this.waitForWork();
  }

  /** Block until an enqueue sets a marker of the queues, or the next scheduled job falls due. */
  private async waitForWork(): Promise<void> {
    this.waiting = true;
    const { blockSeconds } = this.options;
    try {
      this.blocking ??= await unlessAborted(this.options.blockingConnection(), this.stopRequest.signal);
      const blocking = this.blocking;
      if (blocking) {
        const seconds = this.nextScheduledMs >= 0 ? Math.min(blockSeconds, this.nextScheduledMs / 1000) : blockSeconds;
        const order = orderQueues(this.options.queues, this.options.strategy, this.lastQueue);
        // A wait on a connection that silently stopped answering would hang: replace it after a deadline.
        const wait = withDeadline(this.options.fetcher.waitForWork(blocking, order, seconds), (seconds + 5) * 1000, 'blocking wait hung');
        await unlessAborted(wait, this.stopRequest.signal);
      }
    } catch (err) {
      if (this.state === 'running') {
        this.options.log.warn({ err }, 'blocking wait failed; replacing its connection');
        this.blocking?.disconnect();
        this.blocking = undefined;
        await pause(500, this.stopRequest.signal);
      }
    } finally {
      this.waiting = false;
      this.queuesEmpty = false;
      this.scheduleFlush();
    }
  }

  /** Start `job` in a free slot; `announced`: its claim published its job_started already. */
  private startJob(job: Held, announced: boolean): void {
    const { record, token } = job;
    const slot = this.freeSlots.pop() as number;
    const now = performance.now();
    const timeoutMs = record.timeout * 1000;
    const entry: Running = { slot, record, token, startedAt: now, abortAt: now + timeoutMs, control: new JobControl(), timedOut: false };
    this.slots[slot] = entry;
    this.running++;
    this.options.board.start(slot, now + timeoutMs + this.options.jobTimeoutGraceSeconds * 1000, job.call, job.index);
    if (!announced && this.listeners) this.startedReports.push({ queue: record.queue, id: record.id });
    this.options.log.debug({ jobId: record.id, method: record.method, site: record.site, queue: record.queue, attempt: record.attempts }, 'job started');
    executeJob(executionRequest(record), this.options.env, entry.control).then(
      (json) => this.jobEnded(entry, { kind: 'finished', result: json }),
      (err: unknown) => this.jobFailed(entry, err),
    );
  }

  private jobFailed(entry: Running, err: unknown): void {
    const error = entry.timedOut ? timeoutError(entry.record, err) : serializeError(err);
    const retry = retryOf(entry.record, error);
    this.jobEnded(entry, { kind: 'failed', error: JSON.stringify(error), retryMs: retry.delayMs, history: retry.history }, error);
  }

  private jobEnded(entry: Running, ending: Ending, error?: SerializedError): void {
    // A job that returned after its timeout fired is failed all the same: its time was up.
    if (ending.kind === 'finished' && entry.timedOut) return this.jobFailed(entry, undefined);
    const { record } = entry;
    this.options.board.end(entry.slot);
    this.slots[entry.slot] = undefined;
    this.freeSlots.push(entry.slot);
    this.running--;
    const now = performance.now();
    this.lastEndAt = now;
    const elapsed = now - entry.startedAt;
    this.jobMs = average(this.jobMs, elapsed);
    const durationMs = Math.round(elapsed);
    this.stats.workingMs += elapsed;
    this.stats.jobsRun++;
    this.ended.push({ queue: record.queue, id: record.id, token: entry.token, ending, ttl: recordTtl(this.options.env, record, ending) });
    const log = this.options.log;
    if (ending.kind === 'finished') {
      this.stats.successful++;
      if (this.logInfo) this.finishedLog.push({ id: record.id, method: record.method, queue: record.queue, attempt: record.attempts, ms: durationMs });
    } else {
      this.stats.failed++;
      const retrying = ending.kind === 'failed' && ending.retryMs > 0;
      log.warn({ jobId: record.id, method: record.method, site: record.site, queue: record.queue, attempt: record.attempts, durationMs, err: error && errorForLog(error), ...(retrying ? { retryInMs: ending.retryMs } : {}) }, retrying ? 'job failed; retry scheduled' : 'job failed');
    }
    if (this.options.burst) this.queuesEmpty = false;
    this.checkLimits(now);
    const next = this.prefetched.shift();
    if (next) this.startJob(next, false);
    this.scheduleFlush();
  }

  /**
   * One info line for the jobs that finished since the last one (they end in batches; a line per job
   * cost a third of the throughput of short jobs). Failures get a warn line each.
   */
  private logFinished(): void {
    if (this.finishedLog.length === 0) return;
    const jobs = this.finishedLog;
    this.finishedLog = [];
    this.options.log.info({ count: jobs.length, jobs }, 'jobs finished');
  }

  /** Retire once the job count or memory limit is reached (checked between jobs). */
  private checkLimits(now: number): void {
    if (this.retired) return;
    const { maxJobs, maxRssBytes } = this.options;
    if (now - this.rssSampledAt >= RSS_SAMPLE_MS) {
      this.rssSampledAt = now;
      this.stats.rss = process.memoryUsage.rss();
    }
    if (maxJobs > 0 && this.stats.jobsRun >= maxJobs) this.retire('max jobs');
    else if (maxRssBytes > 0 && this.stats.rss > maxRssBytes) this.retire('max memory');
  }

  private retire(reason: RetireReason | 'owner lost' | 'drained'): void {
    if (this.retired) return;
    this.retired = true;
    this.options.onRetire(reason);
  }

  private takePrefetched(): Held[] {
    const jobs = this.prefetched;
    this.prefetched = [];
    return jobs;
  }

  /** Hand claimed jobs back to the front of their queues (in the background, counted until done). */
  private handBack(jobs: readonly Held[], mode: ReleaseMode, reason: string): void {
    if (jobs.length === 0) return;
    this.handBacks++;
    void this.releaseAll(jobs, mode, reason)
      .catch((err: unknown) => this.options.log.warn({ err, count: jobs.length }, "claimed jobs could not be handed back; their worker's stamp will"))
      .finally(() => {
        this.handBacks--;
        this.scheduleFlush();
      });
  }

  private releaseAll(jobs: readonly Held[], mode: ReleaseMode, reason: string): Promise<void> {
    return this.options.fetcher.releaseClaimed(jobs, mode, this.options.maxStalls, reason);
  }

  /** Fire the AbortSignal of jobs past their timeout; hand back prefetched jobs that wait behind slow ones. */
  private sweepSlots(): void {
    const now = performance.now();
    if (this.prefetched.length > 0 && this.freeSlots.length === 0 && now - this.lastEndAt > PREFETCH_WAIT_MS) {
      // The running jobs are slow: the prefetched ones would wait behind them while others could run them.
      this.jobMs = Math.max(this.jobMs ?? 0, now - this.lastEndAt);
      this.handBack(this.takePrefetched(), 'unstarted', 'prefetched behind slow jobs');
    }
    if (this.running === 0) return;
    for (const entry of this.slots) {
      if (!entry || entry.timedOut || now < entry.abortAt) continue;
      entry.timedOut = true;
      this.options.log.warn({ jobId: entry.record.id, timeoutSeconds: entry.record.timeout }, 'job timed out; aborting it');
      entry.control.abort(new BenchError('ERR_JOB_TIMEOUT', `job exceeded its timeout of ${entry.record.timeout} s`));
    }
  }
}

function average(current: number | undefined, sample: number): number {
  return current === undefined ? sample : current + EWMA_WEIGHT * (sample - current);
}
