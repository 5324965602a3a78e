// The machine a run was made on, for the report: CPU model and count (/proc/cpuinfo), memory,
// kernel, Node and Redis versions, the versions of the peer libraries and the commit measured.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Redis } from 'ioredis';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  redis: string;
  libraries: string;
  /** Commit of the code measured, "+ uncommitted changes" when the tree is dirty. */
  commit: string;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function gitCommit(): string {
  const cwd = new URL('../../', import.meta.url).pathname;
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd, encoding: 'utf8' }).stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? ' + uncommitted changes in src/' : ''}`;
}

function packageVersion(name: string): string {
  const text = read(new URL(`../../node_modules/${name}/package.json`, import.meta.url).pathname);
  return text ? String((JSON.parse(text) as { version?: string }).version) : 'not installed';
}

export async function machineInfo(redis: Redis, rqVersion: string | undefined): Promise<MachineInfo> {
  const cpuinfo = read('/proc/cpuinfo');
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length || os.cpus().length;
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(read('/proc/meminfo'))?.[1] ?? 0);
  const server = await redis.info('server');
  const libs = [`BullMQ ${packageVersion('bullmq')}`, `Bee-Queue ${packageVersion('bee-queue')}`, `ioredis ${packageVersion('ioredis')}`];
  libs.push(rqVersion ? `RQ ${rqVersion}` : 'RQ not installed');
  return {
    cpu,
    cores,
    memoryGiB: Math.round(memKb / 1024 / 1024),
    kernel: os.release(),
    node: process.version,
    redis: /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown',
    libraries: libs.join(', '),
    commit: gitCommit(),
  };
}

/** Share of all CPUs busy over `ms` (from /proc/stat), 0..1; 0 when unreadable. */
export async function cpuBusy(ms = 1000): Promise<number> {
  const sample = () => {
    const fields = (/^cpu\s+(.+)$/m.exec(read('/proc/stat'))?.[1] ?? '').trim().split(/\s+/).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { idle, total: fields.reduce((a, b) => a + b, 0) };
  };
  const a = sample();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = sample();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}

/**
 * --wait-idle: between measurements nothing of the benchmark runs, so CPU use then is someone
 * else's. Wait (up to `maxWaitMs`) until under `threshold` of the CPUs are busy.
 */
export async function waitForIdle(log: (line: string) => void, threshold = 0.15, maxWaitMs = 10 * 60 * 1000): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  let busy = await cpuBusy();
  if (busy < threshold) return;
  log(`waiting for the machine to be idle (other processes use ${(busy * 100).toFixed(0)}% of the CPUs)`);
  while (busy >= threshold && Date.now() < deadline) busy = await cpuBusy(2000);
  log(busy < threshold ? 'machine idle again' : `still busy (${(busy * 100).toFixed(0)}%) after ${maxWaitMs / 60_000} min: measuring anyway`);
}
