// The Redis server's clock, for reads that compare with scores Redis wrote (expiries, due times):
// the same clock the scripts use (lua/includes/now.lua), not this machine's.
import type { Redis } from './client-type.js';

/** Epoch ms by the Redis server's clock (one TIME). */
export async function redisNow(redis: Redis): Promise<number> {
  const [sec, usec] = await redis.time();
  return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
}
