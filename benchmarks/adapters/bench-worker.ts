// bench-worker under test. Orchestrator side: a temp bench written at run time (a site, and an app
// "bench" whose apps/bench/bench/tasks.mjs exports the no-op job; tasks.ts with BW_BENCH_JOBS=ts) and a
// BenchClient for the enqueue paths. Worker side (runWorker): one supervisor of the compiled runtime
// (dist/, as `bench worker` runs), new Supervisor({ numWorkers, concurrency, burst }) on queue
// "default"; the job module records its timestamps in each worker process and writes them on exit.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { BenchClient } from '../../src/index.ts';
import { benchKeys } from '../../src/redis/keys.ts';
import { startNodeWorker, type NodeWorkerInput } from '../lib/node-worker.ts';
import { onExit } from '../lib/redis-server.ts';
import { monoMs, readVmHwmKb, type Adapter, type EnqueueMode, type RunningSupervisor, type Target, type WorkerResult, type WorkerSpec } from '../lib/types.ts';
import { runConcurrently, chunks } from '../lib/stats.ts';

const SITE = 'bench.local';
const DIST_INDEX = new URL('../../dist/index.js', import.meta.url).href;
const METHOD = 'bench.tasks.noop';
const BENCH_ID = 'bwbench';

/** Which job module the benchmark writes: .mjs (plain JavaScript), or .ts (loaded through tsx) with BW_BENCH_JOBS=ts. */
export const JOB_MODULE_KIND: 'mjs' | 'ts' = process.env['BW_BENCH_JOBS'] === 'ts' ? 'ts' : 'mjs';

/** The no-op job module, written into the temp bench: plain JavaScript, saved as .mjs or (loaded through tsx) as .ts. */
const TASKS_SOURCE = `// No-op job of the benchmark (written by benchmarks/adapters/bench-worker.ts). It records, in this
// worker process, its first start, last end, count and enqueue-to-start latencies, and writes them to
// $BW_BENCH_STATS_DIR/<pid>.json when the process exits. With $BW_BENCH_STOP_AFTER, the job that
// completes that count sends SIGUSR2 to the supervisor, which then stops (warm).
import { readFileSync, writeFileSync } from 'node:fs';

const stats = { first: 0, last: 0, count: 0, latencies: [], hwmKb: 0 };
let hooked = false;
const stopAfter = Number(process.env['BW_BENCH_STOP_AFTER'] ?? 0);
const mono = () => Number(process.hrtime.bigint()) / 1e6;

function dump() {
  const match = /^VmHWM:\\s+(\\d+)\\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  stats.hwmKb = match ? Number(match[1]) : 0;
  writeFileSync(\`\${process.env['BW_BENCH_STATS_DIR']}/\${process.pid}.json\`, JSON.stringify(stats));
}

export function noop(kwargs) {
  const now = mono();
  if (!hooked) {
    hooked = true;
    if (process.env['BW_BENCH_STATS_DIR']) process.once('exit', dump);
  }
  if (stats.count === 0) stats.first = now;
  if (typeof kwargs.t === 'number' && !kwargs.w) stats.latencies.push(now - kwargs.t);
  stats.count++;
  stats.last = mono();
  if (stats.count === stopAfter) process.kill(process.ppid, 'SIGUSR2');
}
`;

export function writeTempBench(target: Target): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-benchmark-bench-'));
  mkdirSync(path.join(dir, 'sites', SITE), { recursive: true });
  mkdirSync(path.join(dir, 'apps', 'bench', 'bench'), { recursive: true });
  writeFileSync(
    path.join(dir, 'sites', 'common_site_config.json'),
    // max_queued_jobs: the 1M-deep queue must be accepted. Every other key keeps its default.
    JSON.stringify({ redis_queue: `redis://${target.host}:${target.port}`, bench_id: BENCH_ID, max_queued_jobs: 1_000_000_000 }, null, 2),
  );
  writeFileSync(path.join(dir, 'sites', SITE, 'site_config.json'), '{}\n');
  writeFileSync(path.join(dir, 'apps', 'bench', 'bench', `tasks.${JOB_MODULE_KIND}`), TASKS_SOURCE);
  return dir;
}

export class BenchWorkerAdapter implements Adapter {
  readonly id = 'bench-worker';
  readonly label = 'bench-worker';
  readonly ours = true;
  readonly processScale = 1;
  readonly supportsConcurrency = true;
  readonly warmsUpItself = false;
  private target: Target | undefined;
  private benchPath = '';
  private client: BenchClient | undefined;

  async setup(target: Target): Promise<void> {
    this.target = target;
    this.benchPath = writeTempBench(target);
    const dir = this.benchPath;
    onExit(() => rmSync(dir, { recursive: true, force: true }));
    this.client = await BenchClient.open({ benchPath: this.benchPath });
  }

  async close(): Promise<void> {
    await this.client?.close();
    rmSync(this.benchPath, { recursive: true, force: true });
  }

  private get c(): BenchClient {
    if (!this.client) throw new Error('bench-worker adapter not set up');
    return this.client;
  }

  async enqueue(mode: EnqueueMode, n: number, inFlight: number): Promise<number> {
    const c = this.c;
    const one = () => c.enqueue(METHOD, { site: SITE, kwargs: {} });
    const start = monoMs();
    if (mode === 'sequential') for (let i = 0; i < n; i++) await one();
    else if (mode === 'concurrent') await runConcurrently(n, inFlight, one);
    else await c.enqueueMany(METHOD, Array.from({ length: n }, () => ({})), { site: SITE });
    return (monoMs() - start) / 1000;
  }

  async fill(n: number): Promise<void> {
    for (const size of chunks(n, 50_000)) await this.c.enqueueMany(METHOD, Array.from({ length: size }, () => ({})), { site: SITE });
  }

  async produceSpaced(warmup: number, n: number, intervalMs: number): Promise<void> {
    for (let i = 0; i < warmup + n; i++) {
      await this.c.enqueue(METHOD, { site: SITE, kwargs: i < warmup ? { t: monoMs(), w: 1 } : { t: monoMs() } });
      await delay(intervalMs);
    }
  }

  startSupervisor(spec: WorkerSpec): RunningSupervisor {
    if (!this.target) throw new Error('bench-worker adapter not set up');
    return startNodeWorker({ system: 'bench-worker', target: this.target, spec, options: { benchPath: this.benchPath } });
  }
}

interface ChildStats {
  first: number;
  last: number;
  count: number;
  latencies: number[];
  hwmKb: number;
}

/** Worker side: the supervisor runs in this process; its children are forked by bench-worker itself. */
export async function runWorker(input: NodeWorkerInput, ready: () => void): Promise<WorkerResult> {
  const { spec } = input;
  const statsDir = mkdtempSync(path.join(os.tmpdir(), 'bw-benchmark-stats-'));
  try {
    process.env['BW_BENCH_STATS_DIR'] = statsDir;
    process.env['BW_BENCH_STOP_AFTER'] = spec.mode === 'count' ? String(spec.expect) : '0';
    // The compiled runtime, as `bench worker` runs it (the orchestrator runs the sources under tsx).
    const { Supervisor, createLogger, loadBenchConfig } = (await import(DIST_INDEX)) as typeof import('../../src/index.ts');
    const bench = loadBenchConfig(String(input.options['benchPath']));
    const children = spec.children ?? 1;
    const worker = new Supervisor({
      bench,
      // Errors only: the per-job info lines and the "redis keeps nothing on disk" warning stay out of the figures.
      log: createLogger({ level: 'error', name: 'bench-worker' }),
      queues: ['default'],
      burst: spec.mode === 'drain',
      numWorkers: children,
      concurrency: spec.concurrency,
    });
    process.on('SIGUSR2', () => void worker.stop());
    const running = worker.run();
    if (spec.mode === 'count') await waitUntilRegistered(input, running);
    ready();
    await running;
    const stats = readdirSync(statsDir).map((f) => JSON.parse(readFileSync(path.join(statsDir, f), 'utf8')) as ChildStats);
    const ran = stats.filter((s) => s.count > 0);
    return {
      firstStart: Math.min(...ran.map((s) => s.first)),
      lastEnd: Math.max(...ran.map((s) => s.last)),
      count: ran.reduce((a, s) => a + s.count, 0),
      latencies: ran.flatMap((s) => s.latencies),
      // Supervisor + its children at their largest (a recycled child is replaced, not added).
      peakRssKb: readVmHwmKb() + children * Math.max(0, ...stats.map((s) => s.hwmKb)),
    };
  } finally {
    rmSync(statsDir, { recursive: true, force: true });
  }
}

/** The supervisor registers its children in the worker registry right before its claim loop. */
async function waitUntilRegistered(input: NodeWorkerInput, running: Promise<void>): Promise<void> {
  const redis = new Redis({ host: input.target.host, port: input.target.port });
  let exited = false;
  running.then(
    () => (exited = true),
    () => (exited = true),
  );
  try {
    while (!exited && (await redis.zcard(benchKeys(BENCH_ID).workers)) === 0) await delay(10);
    await delay(50);
  } finally {
    redis.disconnect();
  }
}
