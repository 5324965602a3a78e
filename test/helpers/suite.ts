// The usual setup of an integration test file: a private redis-server, a temp bench pointing at it
// and a connected BenchClient, created before the file's tests and removed after them.
import { after, before } from 'node:test';
import { BenchClient } from '../../src/queue/client.ts';
import { makeBench, type TestBench } from './bench.ts';
import { linkPackage, usePostgres, type TestSchema } from './databases.ts';
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

export interface DatabaseSuite extends BenchSuite {
  /** The file's PostgreSQL schema; reading it fails the test with the reason when PostgreSQL is down. */
  readonly schema: TestSchema;
}

/**
 * useBenchSuite for the site-database tests: a PostgreSQL schema of the file's own (see usePostgres),
 * sites from `sites(postgresSite)` where `postgresSite` is the config of a site on that schema, and
 * the repository linked as the bench's `bench-worker` package.
 */
export function useDatabaseBenchSuite(sites: (postgresSite: Record<string, unknown>) => Record<string, Record<string, unknown>>): DatabaseSuite {
  const postgres = usePostgres();
  const suite = {
    get schema(): TestSchema {
      return postgres.schema();
    },
  } as DatabaseSuite;
  // One before(): node:test runs a file's top-level before() hooks concurrently, and the bench's
  // site configs need the schema.
  before(async () => {
    await postgres.create();
    suite.redis = await startRedis();
    suite.bench = makeBench({ redisUrl: suite.redis.url, sites: sites(postgres.siteConfig()) });
    linkPackage(suite.bench);
    suite.client = await BenchClient.open({ benchPath: suite.bench.path });
  });
  after(async () => {
    await suite.client?.close();
    await suite.redis?.stop();
    suite.bench?.remove();
  });
  return suite;
}
