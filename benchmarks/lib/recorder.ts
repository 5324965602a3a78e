// In-job timestamps for the workers whose jobs run in the worker process itself (BullMQ, Bee-Queue):
// first job start, last job end, job count and enqueue-to-start latencies, all CLOCK_MONOTONIC ms.
import { readVmHwmKb } from './procfs.ts';
import { monoMs, type WorkerResult } from './types.ts';

/** Data of a no-op job: `t` = enqueue time (monotonic ms) for latency jobs, `w` = warm-up job. */
export interface NoopData {
  t?: number;
  w?: number;
}

export class JobRecorder {
  private first = 0;
  private last = 0;
  private count = 0;
  private readonly latencies: number[] = [];
  private finished: () => void = () => {};
  /** Resolves once `expect` jobs have ended. */
  readonly reached: Promise<void>;

  constructor(private readonly expect: number) {
    this.reached = new Promise((resolve) => (this.finished = resolve));
  }

  /** Call at the start of the job; returns the call to make at its end. */
  start(data: NoopData | undefined): () => void {
    const now = monoMs();
    if (this.count === 0 && this.first === 0) this.first = now;
    if (data && typeof data.t === 'number' && !data.w) this.latencies.push(now - data.t);
    return () => {
      this.last = monoMs();
      this.count++;
      if (this.count === this.expect) this.finished();
    };
  }

  result(): WorkerResult {
    return { firstStart: this.first, lastEnd: this.last, count: this.count, latencies: this.latencies, peakRssKb: readVmHwmKb() };
  }
}
