// The protocol ceiling of bench-worker: its fetch script alone (end the last batch of jobs and claim
// the next, one call), driven in a tight loop by `loops` loops in one process with no job code at all.
// What the real worker reaches is compared against this: the distance is the cost of running jobs.
import { Redis } from 'ioredis';
import { defineScripts } from '../../src/redis/scripts.ts';
import { Fetcher, type ClaimedJob, type EndedJob } from '../../src/worker/fetcher.ts';
import { Ownership } from '../../src/worker/ownership.ts';
import type { Target } from './types.ts';

export interface CeilingResult {
  /** jobs/s from the first call to the last reply. */
  rate: number;
}

/** Drain `n` jobs already queued on `queue` of `benchId`: `loops` loops, each ending and claiming `batch` jobs per call. */
export async function runCeiling(target: Target, benchId: string, queue: string, n: number, loops: number, batch: number): Promise<CeilingResult> {
  const redis = new Redis({ host: target.host, port: target.port });
  defineScripts(redis);
  try {
    const owner = `ceiling.${process.pid}`;
    await new Ownership(redis, benchId, 'ceiling', 1000).register(queue, [owner], 60_000);
    const fetcher = new Fetcher(redis, benchId, owner, 60_000, 1000);
    let calls = 0;
    let done = 0;
    const loop = async (): Promise<void> => {
      let running: ClaimedJob[] = [];
      for (;;) {
        const ended: EndedJob[] = running.map((job) => ({ queue, id: job.record.id, token: job.token, ending: { kind: 'finished', result: 'null' }, ttl: 600 }));
        done += ended.length;
        const reply = await fetcher.fetch([queue], ended, batch, `ceiling.${++calls}`);
        running = reply.claimed;
        if (running.length === 0) return;
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: loops }, loop));
    const seconds = (performance.now() - started) / 1000;
    return { rate: done / seconds };
  } finally {
    redis.disconnect();
  }
}
