// bench-worker's own measurements, besides those every system gets (scenarios.ts): the 2 x 25 drains of
// the `bench worker --burst` CLI in its variants (quiet with default recycling, recycling off, `info`
// logging, .ts jobs), the protocol ceiling (lib/ceiling.ts) on as many jobs, and the memory-stability
// drain (VmRSS of the supervisor and of its worker processes at 10% and at 100% of the jobs).
import { setTimeout as delay } from 'node:timers/promises';
import { BENCH_ID, QUEUE, type BenchWorkerAdapter } from '../adapters/bench-worker.ts';
import { runCeiling } from './ceiling.ts';
import { childPids, readPssKb, readStatusKb } from './procfs.ts';
import type { RedisStats } from './redis-stats.ts';
import { processScenario, type DrainSpec, type ProcessResult } from './scenarios.ts';
import { sum } from './stats.ts';
import { monoMs } from './types.ts';

/** The 2 x 25 drains of each run: the throughput row (quiet, default recycling, .mjs) and its variants. */
export const DRAINS = {
  quiet: { label: '2 x 25, --quiet, default recycling, .mjs jobs', spec: { children: 2, concurrency: 25 } },
  norecycle: { label: '2 x 25, recycling off (worker_max_jobs 0)', spec: { children: 2, concurrency: 25, recycling: 'off' } },
  info: { label: '2 x 25, default `info` logging', spec: { children: 2, concurrency: 25, quiet: false } },
  ts: { label: '2 x 25, .ts jobs (loaded through tsx)', spec: { children: 2, concurrency: 25, jobs: 'ts' } },
} as const satisfies Record<string, { label: string; spec: DrainSpec }>;

export type DrainName = keyof typeof DRAINS;

/**
 * The order of one run's drains: the A/B pairs (recycling on/off, quiet/info) side by side, reversed
 * every other run so that a drift of the machine's load does not always favour the same side.
 */
export function drainOrder(run: number): DrainName[] {
  return run % 2 === 1 ? ['quiet', 'norecycle', 'info', 'ts'] : ['info', 'norecycle', 'quiet', 'ts'];
}

export function drainScenario(adapter: BenchWorkerAdapter, stats: RedisStats, n: number, name: DrainName): Promise<ProcessResult> {
  return processScenario(adapter, stats, n, DRAINS[name].spec);
}

export interface CeilingFigures {
  /** jobs/s of the fetch script alone, 2 loops x 25 jobs per call. */
  rate: number;
  /** Redis CPU µs per job. */
  cpu: number;
}

/** The protocol ceiling: `n` jobs filled by bench-worker's bulk path, drained by runCeiling(2 loops x 25). */
export async function ceilingScenario(adapter: BenchWorkerAdapter, stats: RedisStats, n: number): Promise<CeilingFigures> {
  await stats.flush();
  await adapter.fill(n);
  const before = await stats.snapshot();
  const { rate } = await runCeiling(adapter.target, BENCH_ID, QUEUE, n, 2, 25);
  const cost = stats.delta(before, await stats.snapshot());
  return { rate, cpu: cost.cpuMicros / n };
}

/** Resident sets (VmRSS, KiB) of the tree at one moment. */
export interface MemorySample {
  /** Jobs finished then (ZCARD of the finished set). */
  finished: number;
  /** ms since the worker was spawned. */
  atMs: number;
  supervisorKb: number;
  /** Worker process pid -> VmRSS KiB. */
  workersKb: Record<string, number>;
  /** The tree's file-backed resident pages (RssFile summed: mostly the node binary, mapped once per process), KiB. */
  treeFileKb: number;
  /** The tree's PSS (shared pages counted once across it), KiB. */
  treePssKb: number;
}

export interface MemoryResult {
  jobs: number;
  early: MemorySample;
  late: MemorySample;
  /** Peak of the tree (supervisor + 2 x the largest worker process), KiB. */
  peakRssKb: number;
}

const POLL_MS = 50;

/**
 * One drain of `n` jobs, 2 x 25, --quiet, .mjs jobs, recycling off (so that the worker processes sampled at
 * 10% are the ones alive at 100%). Without --burst: the tree is sampled once 10% and once 100% of the jobs
 * are in the finished set, and only then stopped (SIGTERM, warm), so that the 100% sample sees it still up.
 */
export async function memoryScenario(adapter: BenchWorkerAdapter, stats: RedisStats, n: number): Promise<MemoryResult> {
  await stats.flush();
  await adapter.fill(n);
  const spawnedAt = monoMs();
  const worker = adapter.serve({ children: 2, concurrency: 25, recycling: 'off' });
  const sample = (finished: number): MemorySample => {
    const workers = childPids(worker.pid);
    const tree = [worker.pid, ...workers];
    return {
      finished,
      atMs: monoMs() - spawnedAt,
      supervisorKb: readStatusKb(worker.pid, 'VmRSS'),
      workersKb: Object.fromEntries(workers.map((pid) => [String(pid), readStatusKb(pid, 'VmRSS')])),
      treeFileKb: sum(tree.map((pid) => readStatusKb(pid, 'RssFile'))),
      treePssKb: sum(tree.map((pid) => readPssKb(pid))),
    };
  };
  try {
    let early: MemorySample | undefined;
    let late: MemorySample | undefined;
    let gone = false;
    const exited = () => (gone = true);
    worker.done.then(exited, exited);
    while (!late && !gone) {
      await delay(POLL_MS);
      const finished = await stats.client.zcard(adapter.keys.finished);
      if (!early && finished >= n / 10) early = sample(finished);
      if (finished >= n) late = sample(finished);
    }
    worker.stop();
    const result = await worker.done;
    if (!early || !late) throw new Error(`memory drain: the worker exited before the last job (${result.count} of ${n})`);
    if (result.count < n) throw new Error(`memory drain: ${result.count} of ${n} jobs ran`);
    return { jobs: n, early, late, peakRssKb: result.peakRssKb };
  } catch (err) {
    worker.kill();
    throw err;
  }
}
