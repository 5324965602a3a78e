// Development Redis for `bench start`: when redis_queue points at this machine and nothing answers
// there, bench start runs redis-server for the bench, with its files under <bench>/config/.
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import type { SpawnSpec } from './processes.js';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function localRedisPort(bench: BenchConfig): number | undefined {
  const url = new URL(bench.settings.redis_queue);
  if (!LOCAL_HOSTS.has(url.hostname)) return undefined;
  return url.port ? Number(url.port) : 6379;
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

export function redisServerSpec(bench: BenchConfig, port: number): SpawnSpec {
  const dir = path.join(bench.path, 'config', 'redis_queue_data');
  mkdirSync(dir, { recursive: true });
  return {
    name: 'redis_queue',
    command: 'redis-server',
    args: [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--save', '',
      '--maxmemory-policy', 'noeviction',
      '--daemonize', 'no',
    ],
    cwd: bench.path,
  };
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portAnswers(port)) return;
    await delay(50);
  }
  throw new BenchError('ERR_REDIS_UNAVAILABLE', `redis-server did not start answering on port ${port} within ${timeoutMs} ms`);
}
