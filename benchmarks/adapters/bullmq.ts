// BullMQ 6.7 under test, key prefix "bmq", queue "bench". Default settings, or "lean": every job
// added with removeOnComplete: true. Orchestrator side: a Queue for add / addBulk. Worker side
// (runWorker): a Worker with `concurrency`, whose processor is the no-op, in its own process.
import { Queue, Worker, type Job } from 'bullmq';
import type { NodeWorkerInput } from '../lib/node-worker.ts';
import { NodePeerAdapter } from '../lib/peer-adapter.ts';
import { JobRecorder, type NoopData } from '../lib/recorder.ts';
import type { Target, WorkerResult } from '../lib/types.ts';

const QUEUE = 'bench';
const PREFIX = 'bmq';

export class BullMQAdapter extends NodePeerAdapter {
  private queue: Queue<NoopData> | undefined;

  constructor(lean: boolean) {
    super(lean ? 'bullmq-lean' : 'bullmq', lean ? 'BullMQ lean' : 'BullMQ', 'bullmq', lean);
  }

  protected async open(target: Target): Promise<void> {
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

  protected addOne(data: NoopData): Promise<unknown> {
    return this.q.add('noop', data);
  }

  /** addBulk sends one MULTI per call. */
  protected addChunk(size: number): Promise<unknown> {
    return this.q.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data: {} })));
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
