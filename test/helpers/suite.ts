// The usual setup of an integration test file: a private redis-server, a temp bench pointing at it
// and a connected BenchClient, created before the file's tests and removed after them.
import { after, before } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { makeBench, type TestBench } from './bench.ts';
import { linkPackage, usePostgres, type TestSchema } from './databases.ts';
import { startRedis, type TestRedis } from './redis-server.ts';

export interface BenchSuite {
  redis: TestRedis;
  bench: TestBench;
  client: BenchClient;
}

type BenchOptions = { common?: Record<string, unknown>; sites?: Record<string, Record<string, unknown>> };

/**
 * Register before/after hooks; the returned object is filled in before the first test runs. With
 * `linkPackage` the repository is the bench's `bench-worker` package (for apps that import it);
 * `prepare` then runs on the bench before the client opens (site databases, files).
 */
export function useBenchSuite(options: BenchOptions & { linkPackage?: boolean; prepare?: (bench: TestBench) => void } = {}): BenchSuite {
  const { linkPackage: link = false, prepare, ...benchOptions } = options;
  return registerSuite({} as BenchSuite, async () => benchOptions, (bench) => {
    if (link) linkPackage(bench);
    prepare?.(bench);
  });
}

/**
 * One before() (node:test runs a file's top-level before() hooks concurrently, so setup that the
 * bench depends on goes in `options`) and one after().
 */
function registerSuite<S extends BenchSuite>(suite: S, options: () => Promise<BenchOptions>, prepare?: (bench: TestBench) => void): S {
  before(async () => {
    const benchOptions = await options();
    suite.redis = await startRedis();
    suite.bench = makeBench({ redisUrl: suite.redis.url, ...benchOptions });
    prepare?.(suite.bench);
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
export function useRedisBenches(): { readonly redis: TestRedis; newBench(options?: BenchOptions): TestBench } {
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
  return registerSuite(
    suite,
    async () => {
      await postgres.create();
      return { sites: sites(postgres.siteConfig()) };
    },
    linkPackage,
  );
}
