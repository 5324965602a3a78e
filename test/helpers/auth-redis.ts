// For the Redis authentication tests: a private redis-server whose default user needs a password and
// which has one more ACL user, an admin connection to it, and benches pointed at it (removed after the
// file's tests).
import { Redis } from 'ioredis';
import type { TestBench } from './bench.ts';
import { usePrivateRedis } from './private-redis.ts';
import type { TestRedis } from './redis-server.ts';

export interface AuthRedis {
  readonly redis: TestRedis;
  /** A connection as the default user (its password set). */
  readonly admin: Redis;
  /** A bench on this Redis with these common config keys (and another redis_queue URL to it, if given). */
  benchWith(common: Record<string, unknown>, redisUrl?: string): TestBench;
}

/** Registers the file's before/after hooks; the fields are set once before() has run. */
export function useAuthRedis(user: { name: string; password: string }, adminPassword: string): AuthRedis {
  let admin: Redis | undefined;
  const server = usePrivateRedis(
    async (redis) => {
      await redis.client.acl('SETUSER', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all');
      await redis.client.config('SET', 'requirepass', adminPassword);
      admin = new Redis({ port: redis.port, password: adminPassword });
    },
    () => admin?.disconnect(),
  );
  return {
    get redis() {
      return server.redis;
    },
    get admin() {
      if (!admin) throw new Error('the admin connection is not open yet');
      return admin;
    },
    benchWith: (common, redisUrl) => server.bench(common, redisUrl),
  };
}
