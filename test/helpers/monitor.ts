// Helpers of the monitoring tests: fresh benches with a client, jobs brought into each state (failed by
// a real worker, running on a real worker, scheduled and tagged with an event through the job contract
// of src/redis/keys.ts and src/redis/job-record.ts), and readers for the lines testapp.tasks.hold writes.
import { after, before } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchClient } from '../../src/client.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from './bench.ts';
import { startSupervisor, waitForStatus, type RunningSupervisor } from './jobs.ts';
import { startRedis, type TestRedis } from './redis-server.ts';
import { unqueue } from './queued.ts';
import { waitFor } from './wait-for.ts';

export const SITE = 'site1.test';
/** Two sites where one name is a prefix of the other: filters must tell them apart. */
export const SHORT_SITE = 'a.com';
export const LONG_SITE = 'a.com.au';

export interface Fresh {
  bench: TestBench;
  client: BenchClient;
}

/** Makes benches (each its own bench_id on the shared test Redis) and cleans them all up. */
/**
 * A test file's private redis-server (started before its tests, stopped after them) and a maker of
 * fresh benches on it, each with three sites and a client, removed at the end.
 */
export function useMonitorBenches() {
  let server: TestRedis | undefined;
  const benches = benchFactory(() => server as TestRedis);
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await benches.cleanup();
    await server?.stop();
  });
  return {
    ...benches,
    /** The file's redis-server (set once its before() hook ran). */
    get redis(): TestRedis {
      return server as TestRedis;
    },
  };
}

export function benchFactory(redis: () => TestRedis) {
  const made: Fresh[] = [];
  return {
    async fresh(common: Record<string, unknown> = {}): Promise<Fresh> {
      const bench = makeBench({ redisUrl: redis().url, common, sites: { [SITE]: {}, [SHORT_SITE]: {}, [LONG_SITE]: {} } });
      const client = await BenchClient.open({ benchPath: bench.path });
      const entry = { bench, client };
      made.push(entry);
      return entry;
    },
    async cleanup(): Promise<void> {
      for (const { bench, client } of made) {
        await client.close();
        bench.remove();
      }
    },
  };
}

export function tempFile(name: string): string {
  return path.join(os.tmpdir(), `bw-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
}

/** Lines "pid jobId" written by testapp.tasks.hold as each job starts. */
export function holders(file: string): { pid: number; id: string }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pid, id] = line.split(' ');
      return { pid: Number(pid), id: id as string };
    });
}

/** Enqueue `messages.length` testapp.tasks.fail jobs and let a burst worker fail them, in order. */
export async function failJobs(redis: TestRedis, { bench, client }: Fresh, site: string, messages: readonly string[], queue = 'default'): Promise<string[]> {
  const ids = await client.enqueueMany('testapp.tasks.fail', messages.map((message) => ({ message })), { site, queue });
  await startSupervisor(bench, { burst: true, queues: [queue] }).done;
  for (const id of ids) await waitForStatus(redis.client, bench, queue, id, 'failed');
  return ids;
}

/** A worker on `queue` running one testapp.tasks.hold job (for a minute, or until stopped). */
export async function runningJob({ bench, client }: Fresh, site: string, queue = 'long'): Promise<{ id: string; supervisor: RunningSupervisor }> {
  const file = tempFile('hold');
  const id = await client.enqueue('testapp.tasks.hold', { site, queue, kwargs: { file, ms: 60_000 } });
  const supervisor = startSupervisor(bench, { queues: [queue] });
  await waitFor(() => holders(file).some((h) => h.id === id), { what: `job ${id} running` });
  return { id, supervisor };
}

/** Make a queued job scheduled (status, runAt, delayed set), as enqueueIn/enqueueAt store it. */
export async function makeScheduled(redis: TestRedis, benchId: string, queue: string, id: string, runAt: number): Promise<void> {
  const k = queueKeys(benchId, queue);
  await unqueue(redis.client, benchId, queue, id);
  await redis.client.multi().hset(k.job(id), 'status', 'scheduled', 'runAt', String(runAt)).zadd(k.delayed, runAt, id).exec();
}

/** Tag a job with Frappe's `event` field. */
export async function setEvent(redis: TestRedis, benchId: string, queue: string, id: string, event: string): Promise<void> {
  await redis.client.hset(queueKeys(benchId, queue).job(id), 'event', event);
}
