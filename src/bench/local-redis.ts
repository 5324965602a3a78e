// Development Redis for `bench start`: is redis_queue on this machine, and does anything answer there?
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { BenchConfig } from '../config/load.js';
import { redisEndpoint } from '../config/redis-url.js';
import { BenchError } from '../errors.js';
import { usesCluster } from '../redis/cluster.js';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** Where the queues live when that is not redis_queue's one server (a Cluster, a Sentinel set); else undefined. */
export function queueRedisElsewhere(bench: BenchConfig): string | undefined {
  const { settings } = bench;
  if (usesCluster(settings)) return 'the Redis Cluster of redis_queue_cluster';
  if (settings.redis_queue_sentinel_enabled) return `the Sentinel master "${settings.redis_queue_master_service ?? ''}"`;
  return undefined;
}

/** The port of redis_queue when it is on this machine (and the queues live there). */
export function localRedisPort(bench: BenchConfig): number | undefined {
  if (queueRedisElsewhere(bench) !== undefined) return undefined;
  const { host, port } = redisEndpoint(bench.settings.redis_queue);
  return LOCAL_HOSTS.has(host) ? port : undefined;
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portAnswers(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portAnswers(port)) return;
    await delay(50);
  }
  throw new BenchError('ERR_REDIS_UNAVAILABLE', `redis-server did not start answering on port ${port} within ${timeoutMs} ms`);
}
