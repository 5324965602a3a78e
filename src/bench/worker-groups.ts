// The worker processes a bench runs, shaped as Frappe's production setup: a short worker consuming
// short,default, a long worker consuming long,default,short, and one worker per custom queue. Used
// by `bench setup supervisor|systemd` and by `bench start`, so all three run the same processes
// (and the scheduler, `bench schedule`, beside them).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { queueTimeout, type BenchConfig } from '../config/load.js';

/** Seconds a stopping worker gets beyond its longest job timeout before it is killed. */
export const STOP_GRACE_SECONDS = 60;

export interface WorkerGroup {
  /** e.g. "short-worker", "long-worker", "email_queue-worker". */
  name: string;
  queues: readonly string[];
  /** Processes of this group (background_workers). */
  processes: number;
  /** Longest timeout of its queues plus grace: how long a warm shutdown may take. */
  stopWaitSeconds: number;
}

export const BENCH_BIN = fileURLToPath(new URL('../../bin/bench.js', import.meta.url));

export function workerGroups(bench: BenchConfig): WorkerGroup[] {
  const timeout = (name: string) => queueTimeout(bench, name).timeout;
  const group = (name: string, queues: string[], processes: number): WorkerGroup => ({
    name,
    queues,
    processes,
    stopWaitSeconds: Math.max(...queues.map(timeout)) + STOP_GRACE_SECONDS,
  });
  const shared = bench.settings.background_workers;
  const groups = [group('short-worker', ['short', 'default'], shared), group('long-worker', ['long', 'default', 'short'], shared)];
  for (const queue of bench.queues.slice(3)) {
    groups.push(group(`${queue.name}-worker`, [queue.name], bench.settings.workers[queue.name]?.background_workers ?? shared));
  }
  return groups;
}

/** The command line that runs one process of `group` (absolute paths, so units survive a reboot). */
export function workerCommand(bench: BenchConfig, group: WorkerGroup): string[] {
  return [process.execPath, BENCH_BIN, '--bench-path', bench.path, 'worker', '--queue', group.queues.join(',')];
}

/** The command line of the bench's scheduler (`bench schedule`), run beside the workers as Frappe does. */
export function scheduleCommand(bench: BenchConfig): string[] {
  return [process.execPath, BENCH_BIN, '--bench-path', bench.path, 'schedule'];
}

/** Frappe names process-manager programs after the bench folder. */
export function benchName(bench: BenchConfig): string {
  return path.basename(bench.path).replace(/[^A-Za-z0-9_.-]/g, '-');
}
