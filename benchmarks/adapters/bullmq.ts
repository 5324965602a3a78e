// BullMQ 6.7 under test, key prefix "bmq", queue "bench". Default settings, or "lean": every job
// added with removeOnComplete: true. Orchestrator side: a Queue for add / addBulk. Worker side
// (runWorker): a Worker with `concurrency`, whose processor is the no-op, in its own process.
import { setTimeout as delay } from 'node:timers/promises';
import { Queue, Worker, type Job } from 'bullmq';
import { startNodeWorker, type NodeWorkerInput } from '../lib/node-worker.ts';
import { JobRecorder, type NoopData } from '../lib/recorder.ts';
import { runChunks, runConcurrently } from '../lib/stats.ts';
import { monoMs, type Adapter, type EnqueueMode, type RunningWorker, type Target, type WorkerResult, type WorkerSpec } from '../lib/types.ts';

const QUEUE = 'bench';
const PREFIX = 'bmq';
/** addBulk sends one MULTI per call: chunks of 1000, 4 calls in flight, was its fastest bulk path here. */
const BULK_CHUNK = 1000;
const BULK_IN_FLIGHT = 4;

export class BullMQAdapter implements Adapter {
  readonly id: string;
  readonly label: string;
  readonly ours = false;
  readonly processScale = 1;
  readonly supportsConcurrency = true;
  readonly warmsUpItself = false;
  private target: Target | undefined;
  private queue: Queue<NoopData> | undefined;

  constructor(private readonly lean: boolean) {
    this.id = lean ? 'bullmq-lean' : 'bullmq';
    this.label = lean ? 'BullMQ lean' : 'BullMQ';
  }

  async setup(target: Target): Promise<void> {
    this.target = target;
    this.queue = new Queue<NoopData>(QUEUE, {
      connection: { host: target.host, port: target.port },
      prefix: PREFIX,
      ...(this.lean ? { defaultJobOptions: { removeOnComplete: true } } : {}),
    });
    await this.queue.waitUntilReady();
  }

  async close(): Promise<void> {
    await this.queue?.close();
  }

  private get q(): Queue<NoopData> {
    if (!this.queue) throw new Error('BullMQ adapter not set up');
    return this.queue;
  }

  async enqueue(mode: EnqueueMode, n: number, inFlight: number): Promise<number> {
    const q = this.q;
    const start = monoMs();
    if (mode === 'sequential') for (let i = 0; i < n; i++) await q.add('noop', {});
    else if (mode === 'concurrent') await runConcurrently(n, inFlight, () => q.add('noop', {}));
    else await this.bulk(n);
    return (monoMs() - start) / 1000;
  }

  private async bulk(n: number): Promise<void> {
    await runChunks(n, BULK_CHUNK, BULK_IN_FLIGHT, (size) => this.q.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data: {} }))));
  }

  fill(n: number): Promise<void> {
    return this.bulk(n);
  }

  async produceSpaced(warmup: number, n: number, intervalMs: number): Promise<void> {
    for (let i = 0; i < warmup + n; i++) {
      await this.q.add('noop', i < warmup ? { t: monoMs(), w: 1 } : { t: monoMs() });
      await delay(intervalMs);
    }
  }

  startWorker(spec: WorkerSpec): RunningWorker {
    if (!this.target) throw new Error('BullMQ adapter not set up');
    return startNodeWorker({ system: 'bullmq', target: this.target, spec, options: { lean: this.lean } });
  }
}

/** Worker side: a BullMQ Worker with default options but `concurrency`. */
export async function runWorker(input: NodeWorkerInput, ready: () => void): Promise<WorkerResult> {
  const recorder = new JobRecorder(input.spec.expect);
  const worker = new Worker<NoopData>(
    QUEUE,
    async (job: Job<NoopData>) => {
      recorder.start(job.data)();
    },
    { connection: { host: input.target.host, port: input.target.port }, prefix: PREFIX, concurrency: input.spec.concurrency },
  );
  worker.on('error', () => {});
  await worker.waitUntilReady();
  ready();
  await recorder.reached;
  await worker.close();
  return recorder.result();
}
