// Bee-Queue 2.0 under test, key prefix "bq", queue "bench". Default settings, or "lean" with
// removeOnSuccess: true. The producer is a pure producer as Bee-Queue's README advises (isWorker,
// getEvents and storeJobs off); the worker process uses the defaults, with queue.process(c, fn).
import BeeQueue from 'bee-queue';
import type { NodeWorkerInput } from '../lib/node-worker.ts';
import { NodePeerAdapter } from '../lib/peer-adapter.ts';
import { JobRecorder, type NoopData } from '../lib/recorder.ts';
import type { Target, WorkerResult } from '../lib/types.ts';

const QUEUE = 'bench';
const PREFIX = 'bq';

export class BeeQueueAdapter extends NodePeerAdapter {
  private queue: BeeQueue<NoopData> | undefined;

  constructor(lean: boolean) {
    super(lean ? 'bee-queue-lean' : 'bee-queue', lean ? 'Bee-Queue lean' : 'Bee-Queue', 'bee-queue', lean);
  }

  protected async open(target: Target): Promise<void> {
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

  protected addOne(data: NoopData): Promise<unknown> {
    return this.q.createJob(data).save();
  }

  /** saveAll pipelines one call's jobs. */
  protected async addChunk(size: number): Promise<void> {
    const errors = await this.q.saveAll(Array.from({ length: size }, () => this.q.createJob({})));
    if (errors.size > 0) throw new Error(`Bee-Queue saveAll: ${errors.size} jobs failed`);
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
