// Demo producer: plays the part of a web app that enqueues background jobs. Every 1 to 3 seconds it
// enqueues a random demo job for a random site and queue, using the library API (BenchClient).
// `bench start` runs it from the bench's Procfile; run it alone with
//   node --import tsx apps/demo/demo/producer.ts        (from examples/demo-bench)
// SIGINT / SIGTERM: finish the enqueue in flight, close the Redis connection, exit 0.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchClient, type JobMethod } from 'bench-worker';
import { send_welcome_email } from './tasks.ts';

const BENCH_PATH = path.resolve(process.env['BENCH_PATH'] ?? fileURLToPath(new URL('../../../', import.meta.url)));
const SITES = ['demo.localhost', 'shop.localhost'];
const NAMES = ['ada', 'grace', 'linus', 'margaret', 'ken', 'barbara'];

interface DemoJob {
  /** A dotted path, or the job function itself (the client finds its path). */
  method: JobMethod;
  queues: string[];
  kwargs(): Record<string, unknown>;
  user?: string;
}

const JOBS: DemoJob[] = [
  { method: send_welcome_email, queues: ['short', 'email_queue'], kwargs: () => ({ email: `${pick(NAMES)}@example.com` }) },
  {
    method: 'demo.tasks.resize_image',
    queues: ['default', 'short'],
    kwargs: () => ({ image: `/files/${pick(['logo', 'banner', 'avatar', 'product'])}-${rand(1, 99)}.png`, width: pick([320, 640, 1280]) }),
  },
  {
    method: 'demo.tasks.generate_report',
    queues: ['long'],
    kwargs: () => ({ report: pick(['Sales Register', 'Stock Ledger', 'General Ledger']), rows: rand(100, 5000) }),
    user: 'Administrator',
  },
  { method: 'demo.tasks.sync_inventory', queues: ['default'], kwargs: () => ({ warehouse: pick(['Stores', 'Finished Goods', 'Work In Progress']) }) },
];

function pick<T>(list: readonly T[]): T {
  return list[Math.floor(Math.random() * list.length)] as T;
}

function rand(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

function log(message: string): void {
  process.stdout.write(`[producer] ${message}\n`);
}

async function main(): Promise<void> {
  let client: BenchClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let stopping = false;

  const enqueueOne = async (): Promise<void> => {
    const job = pick(JOBS);
    const site = pick(SITES);
    const queue = pick(job.queues);
    const name = typeof job.method === 'string' ? job.method : `${job.method.name} (by function)`;
    try {
      client ??= await BenchClient.open({ benchPath: BENCH_PATH });
      const id = await client.enqueue(job.method, { site, queue, kwargs: job.kwargs(), ...(job.user !== undefined && { user: job.user }) });
      log(`enqueued ${name} on ${queue} for ${site}: ${id}`);
    } catch (err) {
      log(`enqueue of ${name} failed: ${(err as Error).message}`);
      // Start over with a fresh connection next time (Redis may have gone away).
      await client?.close();
      client = undefined;
    }
  };

  const tick = (): void => {
    inFlight = enqueueOne().finally(() => {
      if (!stopping) timer = setTimeout(tick, rand(1000, 3000));
    });
  };

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    clearTimeout(timer);
    log(`${signal} received: stopping`);
    void inFlight
      .then(() => client?.close())
      .then(() => log('stopped'));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  log(`enqueueing into the bench at ${BENCH_PATH} every 1-3 s (Ctrl-C stops)`);
  tick();
}

// Only when run as a program: importing this module (as enqueue-by-function does when it scans the
// app's modules for the function) must not start a producer.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
