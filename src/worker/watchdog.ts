// The kill deadlines of a worker process's running jobs, where a thread of its own can see them. The
// main thread writes each job's deadline (timeout + job_timeout_grace) into a shared board when the job
// starts and clears it when the job ends: two stores, no system call. A watchdog thread
// (watchdog-thread.cjs) reads the board every 100 ms and reports a job past its deadline to the
// supervisor over a pipe, even while a job keeps the main thread's event loop busy forever.
import { Worker } from 'node:worker_threads';
import { WATCH_FD } from './protocol.js';

/** Per slot: kill deadline (main-thread performance.now() ms, 0 = free), claim call number, index in the call. */
const FIELDS = 3;

/** The claim token of a job, from its process's tag and its place in a claim call. */
export function claimToken(tag: string, call: number, index: number): string {
  return `${claimRequestId(tag, call)}:${index}`;
}

/** The request id of one claim call (fetch.lua makes each job's token from it). */
export function claimRequestId(tag: string, call: number): string {
  return `${tag}.${call}`;
}

export class SlotBoard {
  private readonly slots: Float64Array;
  private readonly thread: Worker;

  /** `supervisorPid`: the process kills itself once its parent is no longer that one (its supervisor died). */
  constructor(concurrency: number, supervisorPid: number) {
    const board = new SharedArrayBuffer(concurrency * FIELDS * Float64Array.BYTES_PER_ELEMENT);
    this.slots = new Float64Array(board);
    this.thread = new Worker(new URL('./watchdog-thread.cjs', import.meta.url), {
      workerData: { board, fd: WATCH_FD, mainTimeOrigin: performance.timeOrigin, parentPid: supervisorPid },
      stdout: false,
      stderr: false,
      resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1, codeRangeSizeMb: 1 },
    });
    this.thread.unref();
    this.thread.on('error', () => {
      // Nothing to do from here: the supervisor's stamp keeps the jobs; only the blocked-job kill is lost.
    });
  }

  /** A job started in `slot`: `killAt` in performance.now() ms; `call` and `index` name its claim token. */
  start(slot: number, killAt: number, call: number, index: number): void {
    const at = slot * FIELDS;
    this.slots[at + 1] = call;
    this.slots[at + 2] = index;
    this.slots[at] = killAt;
  }

  end(slot: number): void {
    this.slots[slot * FIELDS] = 0;
  }

  close(): Promise<number> {
    return this.thread.terminate();
  }
}

/** Parse one line of a watch pipe: the claim call and index of an overdue job. */
export function parseOverdue(line: string): { call: number; index: number } | undefined {
  const match = /^overdue (\d+) (\d+)$/.exec(line.trim());
  return match ? { call: Number(match[1]), index: Number(match[2]) } : undefined;
}
