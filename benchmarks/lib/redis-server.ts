// The benchmark's one private redis-server: a free port (never 6379 or 11000), a throwaway folder,
// persistence off. It is stopped by its pid when the run ends, fails, or is interrupted (Ctrl-C).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { portAnswers } from '../../src/bench/local-redis.ts';

export interface PrivateRedis {
  port: number;
  host: string;
  url: string;
  pid: number;
  dir: string;
  stop(): void;
}

const FORBIDDEN_PORTS = new Set([6379, 11000]);

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as net.AddressInfo;
        server.close(() => resolve(p));
      });
    });
    if (!FORBIDDEN_PORTS.has(port)) return port;
  }
}

/** Extra cleanup work run (synchronously) before the process exits, whatever the reason. */
const exitHooks: (() => void)[] = [];
let hooksInstalled = false;

export function onExit(hook: () => void): void {
  exitHooks.push(hook);
  if (hooksInstalled) return;
  hooksInstalled = true;
  const runHooks = () => {
    while (exitHooks.length > 0) {
      try {
        exitHooks.pop()?.();
      } catch {
        // keep cleaning up
      }
    }
  };
  process.once('exit', runHooks);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the benchmark's processes and redis-server\n`);
      runHooks();
      process.exit(130);
    });
  }
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-benchmark-redis-'));
  const port = await freePort();
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no',
    '--maxmemory-policy', 'noeviction', '--logfile', path.join(dir, 'redis.log'),
  ];
  let child: ChildProcess;
  try {
    child = spawn('redis-server', args, { stdio: 'ignore' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start redis-server (apt-get install redis-server): ${err.message}`)));
  });
  spawnError.catch(() => {});
  const pid = child.pid;
  const stop = () => {
    if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  onExit(stop);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await Promise.race([portAnswers(port), spawnError]);
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      stop();
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await delay(25);
  }
  if (pid === undefined) throw new Error('redis-server has no pid');
  return { port, host: '127.0.0.1', url: `redis://127.0.0.1:${port}`, pid, dir, stop };
}
