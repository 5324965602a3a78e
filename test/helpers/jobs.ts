// Test helpers around the job protocol: read a job's record, wait for a status, run an in-process
// supervisor (its worker processes are real processes) and stop it.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadBenchConfig, queueTimeout } from '../../src/config/load.ts';
import { benchKeys, queueKeys } from '../../src/redis/keys.ts';
import { jobFromHash } from '../../src/redis/job-record.ts';
import type { JobRecord, JobStatus } from '../../src/vocabulary.ts';
import { Supervisor, type SupervisorOptions } from '../../src/worker/supervisor.ts';
import type { TestBench } from './bench.ts';
import { killWorkerProcesses, within } from './process.ts';
import { waitFor } from './wait-for.ts';

export async function readJob(redis: Redis, benchId: string, queue: string, id: string): Promise<JobRecord | undefined> {
  const hash = await redis.hgetall(queueKeys(benchId, queue).job(id));
  return Object.keys(hash).length === 0 ? undefined : jobFromHash(id, queueTimeout({ queues: [] }, queue), hash);
}

/** The record of job `id` as `bench`'s config reads it (a hash without `timeout` gets its queue's default). */
export async function readConfiguredJob(redis: Redis, bench: TestBench, queue: string, id: string): Promise<JobRecord | undefined> {
  const hash = await redis.hgetall(queueKeys(bench.benchId, queue).job(id));
  return Object.keys(hash).length === 0 ? undefined : jobFromHash(id, queueTimeout(loadBenchConfig(bench.path), queue), hash);
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

export interface RunningSupervisor {
  supervisor: Supervisor;
  /** Resolves once its worker processes are up and waiting for work (listed in the worker registry). */
  ready(): Promise<void>;
  done: Promise<void>;
  stop(): Promise<void>;
}

export const silentLog = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

/** Start a supervisor in this process (its worker processes are real processes). */
export function startSupervisor(bench: TestBench, options: Partial<Omit<SupervisorOptions, 'bench' | 'log'>> = {}): RunningSupervisor {
  const supervisor = new Supervisor({ bench: loadBenchConfig(bench.path), log: silentLog, ...options });
  const done = supervisor.run();
  const expected = options.numWorkers ?? 1;
  return {
    supervisor,
    done,
    async ready() {
      const redis = new Redis(bench.redisUrl);
      try {
        await waitFor(async () => (await redis.zcard(benchKeys(bench.benchId).workers)) >= expected, { what: `${expected} worker process(es) to be up` });
      } finally {
        redis.disconnect();
      }
    },
    async stop() {
      await supervisor.stop();
      await done;
    },
  };
}

/**
 * A supervisor in this process whose log lines (its worker processes' included) are kept in `lines`,
 * for tests that look for what it logged; on the default queue unless `options.queues` says otherwise.
 */
export function capturingSupervisor(bench: TestBench, options: Partial<Omit<SupervisorOptions, 'bench' | 'log'>> = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const worker = new Supervisor({ bench: loadBenchConfig(bench.path), log, queues: ['default'], ...options });
  return { worker, done: worker.run(), lines };
}

/**
 * Stop `running` forcibly: ask it to stop, SIGKILL the worker processes this test forked (a job
 * spinning in one never answers a stop) and wait a bounded time; for a test that already failed.
 */
export async function killSupervisor(running: RunningSupervisor): Promise<void> {
  const stopping = running.stop();
  killWorkerProcesses();
  await within(stopping, 10_000, 'the supervisor to stop').catch(() => undefined);
}

/**
 * Wait (at most `timeoutMs`) for a burst supervisor to drain; past that, kill it (killSupervisor) and
 * fail, so a job that never ends fails the test quickly and leaves no process running.
 */
export async function drained(running: RunningSupervisor, timeoutMs = 20_000): Promise<void> {
  try {
    await within(running.done, timeoutMs, 'the burst supervisor to drain its queues');
  } catch (err) {
    await killSupervisor(running);
    throw err;
  }
}

/** running.stop(), bounded: past `timeoutMs`, killSupervisor and fail. */
export async function stopped(running: RunningSupervisor, timeoutMs = 20_000): Promise<void> {
  try {
    await within(running.stop(), timeoutMs, 'the supervisor to stop');
  } catch (err) {
    await killSupervisor(running);
    throw err;
  }
}
