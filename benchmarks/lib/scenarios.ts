// The measurements, one function each, for any adapter: enqueue throughput (+ Redis bytes per queued
// job), processing throughput with Redis cost and worker peak RSS, enqueue-to-start latency, the
// command census (MONITOR) and the cost per job on top of a deep queue. Each starts from FLUSHDB.
import type { Census, CensusCounts } from './census.ts';
import type { RedisStats } from './redis-stats.ts';
import { percentile } from './stats.ts';
import type { Adapter, CliDetail, EnqueueMode, RunningWorker, WorkerResult, WorkerSpec } from './types.ts';

export interface Config {
  runs: number;
  quick: boolean;
  enqueue: Record<EnqueueMode, number>;
  /** Lines of bench-worker's `bench enqueue --kwargs-file` run (process start included). */
  cliEnqueue: number;
  inFlight: number;
  /** Jobs per processing run, by concurrency (times the adapter's processScale, at most its maxProcessJobs). */
  process: { c1: number; c50: number };
  /** Jobs of bench-worker's 2 x 25 drains (and of its protocol ceiling). */
  drain: number;
  /** Jobs of bench-worker's memory-stability drain. */
  memory: number;
  /** Jobs of the flood in the per-site fairness row (lib/flood.ts). */
  flood: number;
  latency: { warmup: number; n: number; intervalMs: number };
  census: { enqueue: number; process: number };
  depths: number[];
  depthBatch: number;
}

export type Metrics = Record<string, number>;

export function scaled(adapter: Adapter, n: number): number {
  return Math.max(50, Math.round(n * adapter.processScale));
}

function perSecond(n: number, ms: number): number {
  return ms > 0 ? (n * 1000) / ms : Number.NaN;
}

/** Enqueue throughput in each mode; the bulk run also gives Redis bytes per queued job. */
export async function enqueueScenario(adapter: Adapter, stats: RedisStats, config: Config): Promise<Metrics> {
  const out: Metrics = {};
  for (const mode of ['sequential', 'concurrent', 'bulk'] as const) {
    const n = config.enqueue[mode];
    // Warm up this code path (JIT, connections, script cache) untimed, as a long-running producer is.
    await stats.flush();
    if (!adapter.warmsUpItself) {
      await adapter.enqueue(mode, Math.min(n, 500), config.inFlight);
      await stats.flush();
    }
    const memBefore = await stats.settledMemory();
    const seconds = await adapter.enqueue(mode, n, config.inFlight);
    out[`enq.${mode}`] = n / seconds;
    if (mode === 'bulk') out['mem.perJob'] = ((await stats.settledMemory()) - memBefore) / n;
  }
  return out;
}

/** One pre-loaded drain: `n` jobs, one worker at `concurrency` (bench-worker: `children` x concurrency). */
export interface ProcessResult {
  count: number;
  /** jobs/s from the first job start to the last job end. */
  rate: number;
  /** Redis commands run per job (INFO commandstats, script-inner included). */
  calls: number;
  /** Redis CPU µs per job. */
  cpu: number;
  rssMiB: number;
  /** bench-worker (the CLI) only: jobs/s over the wall time from spawning `bench worker` to its exit. */
  wallRate?: number;
  cli?: CliDetail;
}

/** The worker of a drain: concurrency, and for bench-worker its processes and variant. */
export type DrainSpec = Omit<WorkerSpec, 'mode' | 'expect'>;

export async function processScenario(adapter: Adapter, stats: RedisStats, n: number, spec: DrainSpec): Promise<ProcessResult> {
  await stats.flush();
  await adapter.fill(n);
  const before = await stats.snapshot();
  const result = await runWorker(adapter, { ...spec, mode: 'drain', expect: n });
  const cost = stats.delta(before, await stats.snapshot());
  if (result.count < n) throw new Error(`${adapter.label}: ${result.count} of ${n} jobs ran`);
  return {
    count: result.count,
    rate: perSecond(result.count, result.lastEnd - result.firstStart),
    calls: cost.calls / result.count,
    cpu: cost.cpuMicros / result.count,
    rssMiB: result.peakRssKb / 1024,
    ...(result.cli ? { wallRate: perSecond(result.count, result.cli.wallMs), cli: result.cli } : {}),
  };
}

/** Enqueue-to-start latency at low load: one job every intervalMs to an idle worker (c=1). */
export async function latencyScenario(adapter: Adapter, stats: RedisStats, config: Config): Promise<Metrics> {
  await stats.flush();
  const { warmup, n, intervalMs } = config.latency;
  const result = await runWorker(adapter, { mode: 'count', expect: warmup + n, concurrency: 1 }, async (worker) => {
    await worker.ready;
    await adapter.produceSpaced(warmup, n, intervalMs);
  });
  return { 'lat.p50': percentile(result.latencies, 50), 'lat.p99': percentile(result.latencies, 99) };
}

/** Start a worker, run `meanwhile` (e.g. a producer), and wait for its result; killed on any failure. */
export async function runWorker(adapter: Adapter, spec: WorkerSpec, meanwhile?: (worker: RunningWorker) => Promise<void>): Promise<WorkerResult> {
  const worker = adapter.startWorker(spec);
  try {
    await meanwhile?.(worker);
    return await worker.done;
  } catch (err) {
    worker.kill();
    throw err;
  }
}

/** Commands clients send per job (enqueue one at a time; drains at c=1 and c=50), via MONITOR. */
export async function censusScenario(adapter: Adapter, stats: RedisStats, census: Census, config: Config): Promise<{ metrics: Metrics; detail: Record<string, CensusCounts> }> {
  const detail: Record<string, CensusCounts> = {};
  const metrics: Metrics = {};
  await stats.flush();
  await census.start();
  try {
    const n = config.census.enqueue;
    await adapter.enqueue('sequential', n, 1);
    const enq = await census.cut();
    detail['enqueue'] = enq;
    metrics['census.enq.client'] = enq.client / n;
    metrics['census.enq.lua'] = enq.lua / n;
    for (const c of adapter.supportsConcurrency && !config.quick ? [1, 50] : [1]) {
      await stats.flush();
      const jobs = scaled(adapter, config.census.process);
      await adapter.fill(jobs);
      await census.cut();
      const result = await runWorker(adapter, { mode: 'drain', expect: jobs, concurrency: c });
      const counts = await census.cut();
      detail[`process.c${c}`] = counts;
      metrics[`census.c${c}.client`] = counts.client / result.count;
      metrics[`census.c${c}.lua`] = counts.lua / result.count;
    }
  } finally {
    census.stop();
  }
  return { metrics, detail };
}

/**
 * Cost per job on top of a deep queue: fill to each depth (fastest bulk path, untimed), then, `runs`
 * times, enqueue a batch (50 in flight) and process as many (one worker, c=1) on top of it.
 */
export async function depthScenario(adapter: Adapter, stats: RedisStats, config: Config, log: (line: string) => void): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  const push = (key: string, value: number) => (out[key] ??= []).push(value);
  await stats.flush();
  let depth = 0;
  const batch = scaled(adapter, config.depthBatch);
  for (const target of config.depths) {
    const started = Date.now();
    await adapter.fill(target - depth);
    depth = target;
    log(`  ${adapter.label}: depth ${target.toLocaleString('en-US')} filled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (let run = 0; run < config.runs; run++) {
      const s0 = await stats.snapshot();
      const seconds = await adapter.enqueue('concurrent', batch, config.inFlight);
      const s1 = await stats.snapshot();
      const result = await runWorker(adapter, { mode: 'count', expect: batch, concurrency: 1 });
      const s2 = await stats.snapshot();
      push(`depth.${target}.enq.us`, (seconds * 1e6) / batch);
      push(`depth.${target}.enq.cpu`, stats.delta(s0, s1).cpuMicros / batch);
      push(`depth.${target}.proc.us`, (result.lastEnd - result.firstStart) * 1000 / result.count);
      push(`depth.${target}.proc.cpu`, stats.delta(s1, s2).cpuMicros / result.count);
    }
  }
  await stats.flush();
  return out;
}
