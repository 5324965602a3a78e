// For a test file that needs a redis-server of its own (to change its users, passwords or config):
// started in before(), stopped after the file's tests, with the benches made on it removed then too.
import { after, before } from 'node:test';
import { makeBench, type TestBench } from './bench.ts';
import { startRedis, type TestRedis } from './redis-server.ts';

export interface PrivateRedis {
  /** Set once before() has run. */
  readonly redis: TestRedis;
  /** A bench on `redisUrl` (default: this Redis) with these common config keys, removed after the file. */
  bench(common?: Record<string, unknown>, redisUrl?: string): TestBench;
}

/** Registers the file's before/after hooks; `prepare` runs on the started Redis (users, passwords). */
export function usePrivateRedis(prepare?: (redis: TestRedis) => Promise<void>, cleanup?: () => void): PrivateRedis {
  const benches: TestBench[] = [];
  let redis: TestRedis | undefined;
  before(async () => {
    redis = await startRedis();
    await prepare?.(redis);
  });
  after(async () => {
    cleanup?.();
    await redis?.stop();
    benches.forEach((b) => b.remove());
  });
  return {
    get redis() {
      if (!redis) throw new Error('the private Redis is not started yet (use it from a test or a hook)');
      return redis;
    },
    bench(common = {}, redisUrl) {
      const bench = makeBench({ redisUrl: redisUrl ?? this.redis.url, common });
      benches.push(bench);
      return bench;
    },
  };
}
