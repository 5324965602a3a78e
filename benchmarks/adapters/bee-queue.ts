// Bee-Queue 2.0 under test, key prefix "bq", queue "bench". Default settings, or "lean" with
// removeOnSuccess: true. The producer is a pure producer as Bee-Queue's README advises (isWorker,
// getEvents and storeJobs off); the worker process uses the defaults, with queue.process(c, fn).
import { setTimeout as delay } from 'node:timers/promises';
import BeeQueue from 'bee-queue';
import { startNodeWorker, type NodeWorkerInput } from '../lib/node-worker.ts';
import { JobRecorder, type NoopData } from '../lib/recorder.ts';
import { runChunks, runConcurrently } from '../lib/stats.ts';
import { monoMs, type Adapter, type EnqueueMode, type RunningWorker, type Target, type WorkerResult, type WorkerSpec } from '../lib/types.ts';

const QUEUE = 'bench';
const PREFIX = 'bq';
/** saveAll pipelines one call's jobs: chunks of 1000, 4 calls in flight, was its fastest bulk path here. */
const BULK_CHUNK = 1000;
const BULK_IN_FLIGHT = 4;

export class BeeQueueAdapter implements Adapter {
  readonly id: string;
  readonly label: string;
  readonly ours = false;
  readonly processScale = 1;
  readonly supportsConcurrency = true;
  readonly warmsUpItself = false;
  private target: Target | undefined;
  private queue: BeeQueue<NoopData> | undefined;

  constructor(private readonly lean: boolean) {
    this.id = lean ? 'bee-queue-lean' : 'bee-queue';
    this.label = lean ? 'Bee-Queue lean' : 'Bee-Queue';
  }

  async setup(target: Target): Promise<void> {
    this.target = target;
    this.queue = new BeeQueue<NoopData>(QUEUE, {
      redis: { host: target.host, port: target.port },
      prefix: PREFIX,
      isWorker: false,
      getEvents: false,
      storeJobs: false,
      removeOnSuccess: this.lean,
    });
    this.queue.on('error', () => {});
    await this.queue.ready();
  }

  async close(): Promise<void> {
    await this.queue?.close();
  }

  private get q(): BeeQueue<NoopData> {
    if (!this.queue) throw new Error('Bee-Queue adapter not set up');
    return this.queue;
  }

  async enqueue(mode: EnqueueMode, n: number, inFlight: number): Promise<number> {
    const q = this.q;
    const start = monoMs();
    if (mode === 'sequential') for (let i = 0; i < n; i++) await q.createJob({}).save();
    else if (mode === 'concurrent') await runConcurrently(n, inFlight, () => q.createJob({}).save());
    else await this.bulk(n);
    return (monoMs() - start) / 1000;
  }

  private async bulk(n: number): Promise<void> {
    await runChunks(n, BULK_CHUNK, BULK_IN_FLIGHT, async (size) => {
      const errors = await this.q.saveAll(Array.from({ length: size }, () => this.q.createJob({})));
      if (errors.size > 0) throw new Error(`Bee-Queue saveAll: ${errors.size} jobs failed`);
    });
  }

  fill(n: number): Promise<void> {
    return this.bulk(n);
  }

  async produceSpaced(warmup: number, n: number, intervalMs: number): Promise<void> {
    for (let i = 0; i < warmup + n; i++) {
      await this.q.createJob(i < warmup ? { t: monoMs(), w: 1 } : { t: monoMs() }).save();
      await delay(intervalMs);
    }
  }

  startWorker(spec: WorkerSpec): RunningWorker {
    if (!this.target) throw new Error('Bee-Queue adapter not set up');
    return startNodeWorker({ system: 'bee-queue', target: this.target, spec, options: { lean: this.lean } });
  }
}

/** Worker side: a default Bee-Queue queue (removeOnSuccess when lean) processing `concurrency` at once. */
export async function runWorker(input: NodeWorkerInput, ready: () => void): Promise<WorkerResult> {
  const recorder = new JobRecorder(input.spec.expect);
  const queue = new BeeQueue<NoopData>(QUEUE, {
    redis: { host: input.target.host, port: input.target.port },
    prefix: PREFIX,
    removeOnSuccess: input.options['lean'] === true,
  });
  queue.on('error', () => {});
  queue.process(input.spec.concurrency, async (job: BeeQueue.Job<NoopData>) => {
    recorder.start(job.data)();
  });
  await queue.ready();
  ready();
  await recorder.reached;
  await queue.close();
  return recorder.result();
}
