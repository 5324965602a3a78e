// Test helpers around the job protocol: read a job's record, wait for a status, run an in-process
// worker (real child processes) and stop it.
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadBenchConfig } from '../../src/config/load.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { jobFromHash, type JobRecord, type JobStatus } from '../../src/queue/job.ts';
import { Supervisor, type SupervisorOptions } from '../../src/worker/supervisor.ts';
import type { TestBench } from './bench.ts';
import { waitFor } from './wait-for.ts';

export async function readJob(redis: Redis, benchId: string, queue: string, id: string): Promise<JobRecord | undefined> {
  const hash = await redis.hgetall(queueKeys(benchId, queue).job(id));
  return Object.keys(hash).length === 0 ? undefined : jobFromHash(id, hash);
}

export async function waitForStatus(redis: Redis, bench: TestBench, queue: string, id: string, status: JobStatus, timeoutMs = 15_000): Promise<JobRecord> {
  return waitFor(
    async () => {
      const job = await readJob(redis, bench.benchId, queue, id);
      return job?.status === status ? job : undefined;
    },
    { timeoutMs, what: `job ${id} to be ${status}` },
  );
}

export interface RunningWorker {
  worker: Supervisor;
  done: Promise<void>;
  stop(): Promise<void>;
}

export const silentLog = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

/** Start a supervisor in this process (its worker processes are real processes). */
export function startWorker(bench: TestBench, options: Partial<Omit<SupervisorOptions, 'bench' | 'log'>> = {}): RunningWorker {
  const worker = new Supervisor({ bench: loadBenchConfig(bench.path), log: silentLog, ...options });
  const done = worker.run();
  return {
    worker,
    done,
    async stop() {
      await worker.stop();
      await done;
    },
  };
}
