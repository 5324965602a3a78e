// What the Node peers (BullMQ, Bee-Queue) share as benchmark adapters: the enqueue modes, the fill,
// the spaced producer and the worker process, written once over three primitives each peer gives:
// add one job, add a chunk of jobs in one call, and open/close its producer-side queue.
import { setTimeout as delay } from 'node:timers/promises';
import { startNodeWorker } from './node-worker.ts';
import type { NoopData } from './recorder.ts';
import { runChunks, runConcurrently } from './stats.ts';
import { monoMs, type Adapter, type EnqueueMode, type RunningWorker, type Target, type WorkerSpec } from './types.ts';

/** Bulk enqueue: chunks of 1000 jobs, 4 calls in flight, was the fastest bulk path of both peers here. */
const BULK_CHUNK = 1000;
const BULK_IN_FLIGHT = 4;

export abstract class NodePeerAdapter implements Adapter {
  readonly ours = false;
  readonly processScale = 1;
  readonly supportsConcurrency = true;
  readonly warmsUpItself = false;
  private target: Target | undefined;

  /** `system` names the peer's worker module for benchmarks/worker-main.ts. */
  protected constructor(
    readonly id: string,
    readonly label: string,
    private readonly system: string,
    protected readonly lean: boolean,
  ) {}

  /** Open the producer-side queue. */
  protected abstract open(target: Target): Promise<void>;
  abstract close(): Promise<void>;
  /** Add one job and wait for it to be stored. */
  protected abstract addOne(data: NoopData): Promise<unknown>;
  /** Add `size` no-op jobs in one call. */
  protected abstract addChunk(size: number): Promise<unknown>;

  async setup(target: Target): Promise<void> {
    this.target = target;
    await this.open(target);
  }

  async enqueue(mode: EnqueueMode, n: number, inFlight: number): Promise<number> {
    const start = monoMs();
    if (mode === 'sequential') for (let i = 0; i < n; i++) await this.addOne({});
    else if (mode === 'concurrent') await runConcurrently(n, inFlight, () => this.addOne({}));
    else await this.fill(n);
    return (monoMs() - start) / 1000;
  }

  async fill(n: number): Promise<void> {
    await runChunks(n, BULK_CHUNK, BULK_IN_FLIGHT, (size) => this.addChunk(size));
  }

  async produceSpaced(warmup: number, n: number, intervalMs: number): Promise<void> {
    for (let i = 0; i < warmup + n; i++) {
      await this.addOne(i < warmup ? { t: monoMs(), w: 1 } : { t: monoMs() });
      await delay(intervalMs);
    }
  }

  startWorker(spec: WorkerSpec): RunningWorker {
    if (!this.target) throw new Error(`${this.label} adapter not set up`);
    return startNodeWorker({ system: this.system, target: this.target, spec, options: { lean: this.lean } });
  }
}
