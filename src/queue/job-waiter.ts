// client.waitForJob: resolves with a job's result once it finished, rejects once it failed, was stopped
// or canceled. Driven by the job events on the bench's own channel bw:{<bench_id>}:events (job_finished /
// job_failed, room job:<id>), not by polling: one subscriber connection per client, shared by every wait, made on the
// first wait. A wait reads the job's record once when it starts (after subscribing, so that no event can
// fall in between), at each event of its job, and after a reconnect (events sent meanwhile are lost).
import type { Redis } from '../redis/client-type.js';
import { BenchError } from '../errors.js';
import { keepSubscriberAlive } from '../redis/keep-alive.js';
import { jobRoom } from '../realtime/realtime.js';
import { checkRange, WAIT_RANGE } from '../util/limits.js';
import { setLongTimeout, type LongTimeout } from '../util/long-timeout.js';
import type { JobRecord } from '../vocabulary.js';

export interface WaitForJobOptions {
  /** Seconds to wait at most, up to 365 days (ERR_WAIT_TIMEOUT after). Default: no limit. */
  timeout?: number;
}

const ENDING_EVENTS = new Set(['job_finished', 'job_failed']);
/** The room of a job's events, without the id: `job:`. */
const JOB_ROOM_PREFIX = jobRoom('');

export class JobWaiter {
  private subscriber: Promise<Redis> | undefined;
  /** Per job id, the wake-ups of its waits. */
  private readonly wakers = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(
    private readonly connect: () => Promise<Redis>,
    private readonly read: (id: string) => Promise<JobRecord | undefined>,
    /** The bench's job events channel (benchKeys(id).events), asked once the subscriber connected. */
    private readonly channel: () => string,
  ) {}

  async wait(id: string, options: WaitForJobOptions = {}): Promise<unknown> {
    const timeoutMs = timeoutOf(options);
    if (this.closed) throw closedError(id);
    await this.subscribed();
    let wake: () => void = () => {};
    let woken = false;
    const waker = () => {
      woken = true;
      wake();
    };
    const wakers = this.wakers.get(id) ?? new Set();
    this.wakers.set(id, wakers);
    wakers.add(waker);
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    let timer: LongTimeout | undefined;
    try {
      for (;;) {
        if (this.closed) throw closedError(id);
        woken = false;
        const job = await this.read(id);
        const outcome = settle(id, job);
        if (outcome) return outcome.result;
        if (!woken) {
          const left = deadline - Date.now();
          if (left <= 0) throw timeoutError(id, timeoutMs ?? 0, job);
          await new Promise<void>((resolve) => {
            wake = resolve;
            // Past Node's 24.8-day timer limit a plain setTimeout fires at once: this wait would spin.
            if (left !== Infinity) timer = setLongTimeout(resolve, left);
          });
          timer?.clear();
          if (!woken && Date.now() >= deadline) throw timeoutError(id, timeoutMs ?? 0, job);
        }
      }
    } finally {
      timer?.clear();
      wakers.delete(waker);
      if (wakers.size === 0) this.wakers.delete(id);
    }
  }

  /** Drop the subscriber; pending waits reject with ERR_CLIENT_CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    this.wakeAll();
    const subscriber = await this.subscriber?.catch(() => undefined);
    this.subscriber = undefined;
    subscriber?.disconnect();
  }

  private subscribed(): Promise<Redis> {
    this.subscriber ??= this.connect().then(async (subscriber) => {
      subscriber.on('message', (_channel: string, text: string) => this.onEvent(text));
      // Events published while the connection was down are lost: every wait reads its job again.
      subscriber.on('ready', () => this.wakeAll());
      await subscriber.subscribe(this.channel());
      // A connection that a silent stall left dead is replaced (then 'ready' wakes every wait).
      keepSubscriberAlive(subscriber);
      return subscriber;
    });
    this.subscriber.catch(() => (this.subscriber = undefined));
    return this.subscriber;
  }

  private onEvent(text: string): void {
    if (this.wakers.size === 0) return;
    let envelope: { event?: unknown; room?: unknown };
    try {
      envelope = JSON.parse(text) as { event?: unknown; room?: unknown };
    } catch {
      return;
    }
    if (typeof envelope.event !== 'string' || !ENDING_EVENTS.has(envelope.event) || typeof envelope.room !== 'string') return;
    if (!envelope.room.startsWith(JOB_ROOM_PREFIX)) return;
    for (const wake of this.wakers.get(envelope.room.slice(JOB_ROOM_PREFIX.length)) ?? []) wake();
  }

  private wakeAll(): void {
    for (const set of this.wakers.values()) for (const wake of set) wake();
  }
}

/** The outcome of a job that has ended; undefined while it is queued, scheduled (a retry included) or running. */
function settle(id: string, job: JobRecord | undefined): { result: unknown } | undefined {
  if (!job) {
    throw new BenchError('ERR_JOB_NOT_FOUND', `job "${id}" not found (never enqueued, deleted, or its record expired)`, { details: { jobId: id } });
  }
  if (job.status === 'finished') return { result: job.result };
  if (job.status === 'failed' || job.status === 'stopped' || job.status === 'canceled') {
    const reason = job.error ? `${job.error.message}${job.error.code ? ` (${job.error.code})` : ''}` : job.status;
    throw new BenchError('ERR_JOB_FAILED', `job "${id}" ${job.status}: ${reason}`, { details: { jobId: id, status: job.status, error: job.error } });
  }
  return undefined;
}

function timeoutOf(options: WaitForJobOptions): number | undefined {
  if (options.timeout === undefined) return undefined;
  return checkRange(options.timeout, 'waitForJob: timeout', WAIT_RANGE, 'ERR_USAGE') * 1000;
}

function timeoutError(id: string, timeoutMs: number, job: JobRecord | undefined): BenchError {
  const status = job?.status ?? 'unknown';
  return new BenchError('ERR_WAIT_TIMEOUT', `job "${id}" did not end within ${timeoutMs / 1000} s (status: ${status})`, {
    details: { jobId: id, status, timeoutSeconds: timeoutMs / 1000 },
  });
}

function closedError(id: string): BenchError {
  return new BenchError('ERR_CLIENT_CLOSED', `the client was closed while waiting for job "${id}"`, { details: { jobId: id } });
}

