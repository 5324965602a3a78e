// For the Redis authentication tests: a private redis-server whose default user needs a password and
// which has one more ACL user, an admin connection to it, and benches pointed at it (removed after the
// file's tests).
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { makeBench, type TestBench } from './bench.ts';
import { startRedis, type TestRedis } from './redis-server.ts';

export interface AuthRedis {
  readonly redis: TestRedis;
  /** A connection as the default user (its password set). */
  readonly admin: Redis;
  /** A bench on this Redis with these common config keys (and another redis_queue URL to it, if given). */
  benchWith(common: Record<string, unknown>, redisUrl?: string): TestBench;
}

/** Registers the file's before/after hooks; the fields are set once before() has run. */
export function useAuthRedis(user: { name: string; password: string }, adminPassword: string): AuthRedis {
  const benches: TestBench[] = [];
  const state = {} as { redis: TestRedis; admin: Redis };
  before(async () => {
    state.redis = await startRedis();
    await state.redis.client.acl('SETUSER', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all');
    await state.redis.client.config('SET', 'requirepass', adminPassword);
    state.admin = new Redis({ port: state.redis.port, password: adminPassword });
  });
  after(async () => {
    state.admin.disconnect();
    await state.redis.stop();
    benches.forEach((b) => b.remove());
  });
  return {
    get redis() {
      return state.redis;
    },
    get admin() {
      return state.admin;
    },
    benchWith(common, redisUrl = state.redis.url) {
      const bench = makeBench({ redisUrl, common });
      benches.push(bench);
      return bench;
    },
  };
}
