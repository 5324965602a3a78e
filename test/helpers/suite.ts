// The usual setup of an integration test file: a private redis-server, a temp bench pointing at it
// and a connected BenchClient, created before the file's tests and removed after them.
import { after, before } from 'node:test';
import { BenchClient } from '../../src/queue/client.ts';
import { makeBench, type TestBench } from './bench.ts';
import { startRedis, type TestRedis } from './redis-server.ts';

export interface BenchSuite {
  redis: TestRedis;
  bench: TestBench;
  client: BenchClient;
}

/** Register before/after hooks; the returned object is filled in before the first test runs. */
export function useBenchSuite(options: { common?: Record<string, unknown>; sites?: Record<string, Record<string, unknown>> } = {}): BenchSuite {
  const suite = {} as BenchSuite;
  before(async () => {
    suite.redis = await startRedis();
    suite.bench = makeBench({ redisUrl: suite.redis.url, ...options });
    suite.client = await BenchClient.open({ benchPath: suite.bench.path });
  });
  after(async () => {
    await suite.client?.close();
    await suite.redis?.stop();
    suite.bench?.remove();
  });
  return suite;
}

/** A file's private redis-server and a maker of temp benches on it, all removed after the file. */
export function useRedisBenches(): { readonly redis: TestRedis; newBench(options?: { common?: Record<string, unknown>; sites?: Record<string, Record<string, unknown>> }): TestBench } {
  let server: TestRedis | undefined;
  const made: TestBench[] = [];
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    for (const bench of made) bench.remove();
    await server?.stop();
  });
  return {
    get redis(): TestRedis {
      return server as TestRedis;
    },
    newBench(options = {}) {
      const bench = makeBench({ redisUrl: (server as TestRedis).url, ...options });
      made.push(bench);
      return bench;
    },
  };
}
