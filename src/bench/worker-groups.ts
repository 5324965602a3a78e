// The worker processes a bench runs, shaped as Frappe's production setups: for supervisor a short
// worker consuming short,default, a long worker consuming long,default,short (Frappe's
// multi_queue_consumption shape); for systemd one single-queue worker per built-in queue (default,
// short, long); for both one worker per custom queue, and the scheduler (`bench schedule`) beside
// them (and the dashboard, `bench dashboard`, when dashboard_in_units). Also the command lines the
// Procfile of `bench start` runs.
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
  return [...groups, ...customQueueGroups(bench)];
}

/** Worker groups of the systemd units: one single-queue group per built-in queue, as Frappe's units. */
export function singleQueueGroups(bench: BenchConfig): WorkerGroup[] {
  const shared = bench.settings.background_workers;
  const builtIn = ['default', 'short', 'long'].map((queue) => ({
    name: `${queue}-worker`,
    queues: [queue],
    processes: shared,
    stopWaitSeconds: queueTimeout(bench, queue).timeout + STOP_GRACE_SECONDS,
  }));
  return [...builtIn, ...customQueueGroups(bench)];
}

/** One group per custom queue (the `workers` key), with its own background_workers. */
export function customQueueGroups(bench: BenchConfig): WorkerGroup[] {
  return bench.queues.slice(3).map((queue) => ({
    name: `${queue.name}-worker`,
    queues: [queue.name],
    processes: bench.settings.workers[queue.name]?.background_workers ?? bench.settings.background_workers,
    stopWaitSeconds: queueTimeout(bench, queue.name).timeout + STOP_GRACE_SECONDS,
  }));
}

/**
 * This package's own `bench` with `args`, for a Procfile (run in the bench folder, so without
 * --bench-path): node and bin/bench.js by absolute path, as a `bench` on PATH may be Frappe's.
 */
export function benchCommand(args: readonly string[]): string[] {
  return [process.execPath, BENCH_BIN, ...args];
}

/** This package's own `bench` with `args` for a process manager: absolute paths, so units survive a reboot. */
function unitCommand(bench: BenchConfig, args: readonly string[]): string[] {
  return [process.execPath, BENCH_BIN, '--bench-path', bench.path, ...args];
}

/** The command line that runs one process of `group`. */
export function workerCommand(bench: BenchConfig, group: WorkerGroup): string[] {
  return unitCommand(bench, ['worker', '--queue', group.queues.join(',')]);
}

/** The command line of the bench's scheduler (`bench schedule`), run beside the workers as Frappe does. */
export function scheduleCommand(bench: BenchConfig): string[] {
  return unitCommand(bench, ['schedule']);
}

/** The command line of the bench's dashboard (`bench dashboard`: 127.0.0.1, dashboard_port). */
export function dashboardCommand(bench: BenchConfig): string[] {
  return unitCommand(bench, ['dashboard']);
}

/** Frappe names process-manager programs after the bench folder. */
export function benchName(bench: BenchConfig): string {
  return path.basename(bench.path).replace(/[^A-Za-z0-9_.-]/g, '-');
}
