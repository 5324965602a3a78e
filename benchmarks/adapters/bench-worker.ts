// bench-worker under test. Orchestrator side: a temp bench written at run time (site bench.local, an app
// "bench" whose apps/bench/bench/tasks.mjs, or tasks.ts, exports the no-op job) and a BenchClient of the
// compiled dist/ (what `import … from 'bench-worker'` loads; the peers are compiled JavaScript too) for
// the enqueue paths. Worker side: the `bench worker` CLI of the compiled dist/,
// as users run it (lib/cli-worker.ts); before each run the bench is set to the run's variant (job
// module kind, recycling on or off). The job module records its timestamps in each worker process and
// writes them to a file when the process exits.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { BenchClient } from '../../dist/index.js';
import { benchKeys, queueKeys, type QueueKeys } from '../../dist/redis/keys.js';
import { startCliWorker, type RunningCliWorker } from '../lib/cli-worker.ts';
import { parentPid } from '../lib/procfs.ts';
import { onExit } from '../lib/redis-server.ts';
import { chunks, runConcurrently } from '../lib/stats.ts';
import { monoMs, type Adapter, type EnqueueMode, type Target, type WorkerSpec } from '../lib/types.ts';

const SITE = 'bench.local';
const BIN = fileURLToPath(new URL('../../bin/bench.js', import.meta.url));
const METHOD = 'bench.tasks.noop';
export const BENCH_ID = 'bwbench';
export const QUEUE = 'default';

/** The no-op job module, written into the temp bench: plain JavaScript, saved as .mjs or (loaded through tsx) as .ts. */
const TASKS_SOURCE = `// No-op job of the benchmark (written by benchmarks/adapters/bench-worker.ts). It records, in this
// worker process, its first start, last end, count and enqueue-to-start latencies, and writes them to
// $BW_BENCH_STATS_DIR/<pid>.json when the process exits. With $BW_BENCH_STOP_AFTER, the job that
// completes that count sends SIGTERM to the supervisor (its parent), which then stops (warm).
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
  if (stats.count === stopAfter) process.kill(process.ppid, 'SIGTERM');
}
`;

/** Writes common_site_config.json: max_queued_jobs raised (1M-deep queues), worker_max_jobs 0 when recycling is off. */
function writeConfig(dir: string, target: Target, recycling: 'default' | 'off'): void {
  const config: Record<string, unknown> = { redis_queue: `redis://${target.host}:${target.port}`, bench_id: BENCH_ID, max_queued_jobs: 100_000_000 };
  if (recycling === 'off') config['worker_max_jobs'] = 0;
  writeFileSync(path.join(dir, 'sites', 'common_site_config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** The job module as tasks.mjs or tasks.ts (the other one removed). */
function writeJobs(dir: string, kind: 'mjs' | 'ts'): void {
  const folder = path.join(dir, 'apps', 'bench', 'bench');
  rmSync(path.join(folder, `tasks.${kind === 'ts' ? 'mjs' : 'ts'}`), { force: true });
  writeFileSync(path.join(folder, `tasks.${kind}`), TASKS_SOURCE);
}

export function writeTempBench(target: Target): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-benchmark-bench-'));
  mkdirSync(path.join(dir, 'sites', SITE), { recursive: true });
  mkdirSync(path.join(dir, 'apps', 'bench', 'bench'), { recursive: true });
  writeConfig(dir, target, 'default');
  writeFileSync(path.join(dir, 'sites', SITE, 'site_config.json'), '{}\n');
  writeJobs(dir, 'mjs');
  return dir;
}

export class BenchWorkerAdapter implements Adapter {
  readonly id = 'bench-worker';
  readonly label = 'bench-worker';
  readonly ours = true;
  readonly processScale = 1;
  readonly supportsConcurrency = true;
  readonly warmsUpItself = false;
  readonly keys: QueueKeys = queueKeys(BENCH_ID, QUEUE);
  private setUp: { target: Target; benchPath: string; client: BenchClient; control: Redis } | undefined;
  /** The variant the temp bench is set to now. */
  private variant = 'default mjs';

  async setup(target: Target): Promise<void> {
    const benchPath = writeTempBench(target);
    onExit(() => rmSync(benchPath, { recursive: true, force: true }));
    const control = new Redis({ host: target.host, port: target.port, maxRetriesPerRequest: 1 });
    control.on('error', () => {});
    this.setUp = { target, benchPath, client: await BenchClient.open({ benchPath }), control };
    this.variant = 'default mjs';
  }

  async close(): Promise<void> {
    if (!this.setUp) return;
    const { client, control, benchPath } = this.setUp;
    this.setUp = undefined;
    await client.close();
    control.disconnect();
    rmSync(benchPath, { recursive: true, force: true });
  }

  private get s(): NonNullable<BenchWorkerAdapter['setUp']> {
    if (!this.setUp) throw new Error('bench-worker adapter not set up');
    return this.setUp;
  }

  get target(): Target {
    return this.s.target;
  }

  async enqueue(mode: EnqueueMode, n: number, inFlight: number): Promise<number> {
    const c = this.s.client;
    const one = () => c.enqueue(METHOD, { site: SITE, kwargs: {} });
    const start = monoMs();
    if (mode === 'sequential') for (let i = 0; i < n; i++) await one();
    else if (mode === 'concurrent') await runConcurrently(n, inFlight, one);
    else await c.enqueueMany(METHOD, Array.from({ length: n }, () => ({})), { site: SITE });
    return (monoMs() - start) / 1000;
  }

  /**
   * `bench --site bench.local enqueue bench.tasks.noop --kwargs-file F` on a file of `n` lines, as a user
   * runs it (the compiled CLI, a process of its own): seconds from spawn to exit, process start included.
   */
  async enqueueCli(n: number): Promise<number> {
    const file = path.join(this.s.benchPath, 'kwargs.jsonl');
    writeFileSync(file, Array.from({ length: n }, (_, i) => `{"n":${i}}\n`).join(''));
    const start = monoMs();
    const result = spawnSync(process.execPath, [BIN, '--bench-path', this.s.benchPath, '--site', SITE, 'enqueue', METHOD, '--kwargs-file', file], { encoding: 'utf8' });
    const seconds = (monoMs() - start) / 1000;
    rmSync(file, { force: true });
    if (result.status !== 0) throw new Error(`bench enqueue --kwargs-file exited ${String(result.status)}: ${result.stderr.trim()}`);
    if (!result.stdout.startsWith(`enqueued ${n} jobs`)) throw new Error(`bench enqueue --kwargs-file printed: ${result.stdout.trim()}`);
    return seconds;
  }

  async fill(n: number, site = SITE): Promise<void> {
    if (site !== SITE) this.addSite(site);
    for (const size of chunks(n, 50_000)) await this.s.client.enqueueMany(METHOD, Array.from({ length: size }, () => ({})), { site });
  }

  /** A second site of the temp bench (for the fairness scenario). */
  addSite(site: string): void {
    mkdirSync(path.join(this.s.benchPath, 'sites', site), { recursive: true });
    writeFileSync(path.join(this.s.benchPath, 'sites', site, 'site_config.json'), '{}\n');
  }

  /** Enqueue `n` no-op jobs of `site` in one bulk call; resolves to their ids. */
  async enqueueFor(site: string, n: number): Promise<string[]> {
    return (await this.s.client.enqueueMany(METHOD, Array.from({ length: n }, () => ({})), { site })) as string[];
  }

  async produceSpaced(warmup: number, n: number, intervalMs: number): Promise<void> {
    for (let i = 0; i < warmup + n; i++) {
      await this.s.client.enqueue(METHOD, { site: SITE, kwargs: i < warmup ? { t: monoMs(), w: 1 } : { t: monoMs() } });
      await delay(intervalMs);
    }
  }

  /**
   * `bench worker --queue default --num-workers <children> --concurrency <concurrency>`, quiet unless
   * spec.quiet is false. drain: --burst. count: no --burst; the job that completes `expect` stops it (warm),
   * so count mode runs one worker process.
   */
  startWorker(spec: WorkerSpec): RunningCliWorker {
    if (spec.mode === 'count' && (spec.children ?? 1) !== 1) throw new Error('bench-worker count mode runs one worker process (each counts its own jobs)');
    return this.spawn(spec, spec.mode === 'drain', spec.mode === 'count' ? spec.expect : 0);
  }

  /** The CLI without --burst and without a job count to stop at: it runs until its stop() (SIGTERM, warm). */
  serve(spec: Omit<WorkerSpec, 'mode' | 'expect'>): RunningCliWorker {
    return this.spawn(spec, false, 0);
  }

  private spawn(spec: Omit<WorkerSpec, 'mode' | 'expect'>, burst: boolean, stopAfter: number): RunningCliWorker {
    const { benchPath, target, control } = this.s;
    const recycling = spec.recycling ?? 'default';
    const jobs = spec.jobs ?? 'mjs';
    if (this.variant !== `${recycling} ${jobs}`) {
      writeConfig(benchPath, target, recycling);
      writeJobs(benchPath, jobs);
      this.variant = `${recycling} ${jobs}`;
    }
    const workers = benchKeys(BENCH_ID).workers;
    return startCliWorker({
      benchPath,
      numWorkers: spec.children ?? 1,
      concurrency: spec.concurrency,
      burst,
      quiet: spec.quiet ?? true,
      stopAfter,
      // Without --burst, ready = the supervisor registered a worker process of its own (heartbeat registry)
      // once it lets it claim.
      isReady: burst
        ? undefined
        : async (supervisor) => (await control.zrange(workers, '0', '-1')).some((name) => parentPid(Number(name.split('.').at(-2))) === supervisor),
    });
  }
}
