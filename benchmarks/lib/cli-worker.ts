// bench-worker's worker, run as its users run it: `node bin/bench.js --bench-path B worker --queue default
// --num-workers N --concurrency C [--burst] [--quiet]` (the compiled dist/) in a process of its own. It
// measures the wall time from spawn to exit, polls the supervisor's VmHWM every 100 ms, and reads the
// per-process stats files that the benchmark's job module writes ($BW_BENCH_STATS_DIR/<pid>.json) when a
// worker process exits. The log (stdout) goes to a file, as under a process manager; its warnings and
// errors are shown on stderr afterwards, each distinct message once per benchmark.
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { childPids, readVmHwmKb } from './procfs.ts';
import { onExit } from './redis-server.ts';
import { monoMs, type RunningWorker, type WorkerResult } from './types.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(REPO, 'bin', 'bench.js');
const HWM_POLL_MS = 100;
/** Every how many HWM polls the supervisor's children are listed (a worker process lives 300 ms at least: its start-up). */
const CHILDREN_EVERY = 2;
const TIMEOUT_MS = 20 * 60 * 1000;
/** Variables that would change what is measured (log level, worker Node options): not passed on. */
const DROPPED_ENV = ['BENCH_LOG_LEVEL', 'BENCH_WORKER_LOG_LEVEL', 'BENCH_WORKER_NODE_ARGS'];

export interface CliWorkerOptions {
  benchPath: string;
  /** --queue (default: default). */
  queues?: readonly string[];
  numWorkers: number;
  concurrency: number;
  /** --burst: exit once the queue is empty. */
  burst: boolean;
  quiet: boolean;
  /** The job that brings its worker process's count to this sends SIGTERM to the supervisor (a warm stop); 0: never. */
  stopAfter: number;
  /** Count mode: polled (with the supervisor's pid) every 10 ms; `ready` resolves 50 ms after it first says true. */
  isReady?: (supervisorPid: number) => Promise<boolean>;
}

export interface RunningCliWorker extends RunningWorker {
  /** The supervisor's pid. */
  readonly pid: number;
  /** SIGTERM to the supervisor: a warm stop (running jobs finish). */
  stop(): void;
}

/** What the job module writes per worker process (see TASKS_SOURCE in adapters/bench-worker.ts). */
interface ProcessStats {
  first: number;
  last: number;
  count: number;
  latencies: number[];
  hwmKb: number;
}

export function startCliWorker(options: CliWorkerOptions): RunningCliWorker {
  if (!existsSync(path.join(REPO, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first (the benchmark runs the compiled `bench` CLI)');
  // One folder per run: the stats files (<pid>.json) and the log (worker.log).
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'bw-benchmark-run-'));
  const logFile = path.join(runDir, 'worker.log');
  const logFd = openSync(logFile, 'w');
  const env: NodeJS.ProcessEnv = { ...process.env, BW_BENCH_STATS_DIR: runDir, BW_BENCH_STOP_AFTER: String(options.stopAfter) };
  for (const key of DROPPED_ENV) delete env[key];
  const args = [BIN, '--bench-path', options.benchPath, 'worker', '--queue', (options.queues ?? ['default']).join(','), '--num-workers', String(options.numWorkers), '--concurrency', String(options.concurrency)];
  if (options.burst) args.push('--burst');
  if (options.quiet) args.push('--quiet');
  const spawnedAt = monoMs();
  const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', logFd, 'inherit'] });
  closeSync(logFd);
  const pid = child.pid ?? -1;
  const running = () => child.exitCode === null && child.signalCode === null;
  const kill = () => {
    if (!running()) return;
    for (const worker of childPids(pid)) signal(worker, 'SIGKILL');
    signal(pid, 'SIGKILL');
  };
  onExit(kill);
  onExit(() => rmSync(runDir, { recursive: true, force: true }));

  let supervisorHwmKb = 0;
  // Worker processes started, replacements of recycled ones included (a replacement that ran no job
  // writes no stats file). A scan of the pids above the supervisor's costs about 0.5 ms.
  const started = new Set<number>();
  let polls = 0;
  const poll = setInterval(() => {
    const kb = readVmHwmKb(pid);
    if (kb > 0) supervisorHwmKb = kb;
    if (++polls % CHILDREN_EVERY === 0) for (const worker of childPids(pid, pid)) started.add(worker);
  }, HWM_POLL_MS);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, sig) => resolve({ code, signal: sig, at: monoMs() }));
  });
  exited.catch(() => {});

  const isReady = options.isReady;
  const ready = isReady ? waitReady(() => isReady(pid), running) : Promise.resolve();
  ready.catch(() => {});
  const done = (async (): Promise<WorkerResult> => {
    const timer = setTimeout(kill, TIMEOUT_MS);
    try {
      const end = await exited;
      await forwardWarnings(logFile);
      if (end.code !== 0) throw new Error(`bench worker exited with code ${String(end.code)}, signal ${String(end.signal)}`);
      return collect(runDir, options.numWorkers, supervisorHwmKb, end.at - spawnedAt, started.size);
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
      rmSync(runDir, { recursive: true, force: true });
    }
  })();
  return { pid, ready, done, kill, stop: () => signal(pid, 'SIGTERM') };
}

function signal(pid: number, name: NodeJS.Signals): void {
  // No pid (spawn failed): never signal 0 or -1, which would reach our process group or every process of ours.
  if (!(pid > 0)) return;
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

async function waitReady(isReady: () => Promise<boolean>, running: () => boolean): Promise<void> {
  while (running() && !(await isReady())) await delay(10);
  if (!running()) throw new Error('bench worker exited before it was ready');
  await delay(50);
}

/** The run's result from the stats files: one per worker process that ran jobs. */
function collect(dir: string, numWorkers: number, supervisorHwmKb: number, wallMs: number, started: number): WorkerResult {
  const stats = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as ProcessStats);
  const ran = stats.filter((s) => s.count > 0);
  const workerHwmKb = Math.max(0, ...stats.map((s) => s.hwmKb));
  return {
    firstStart: Math.min(...ran.map((s) => s.first)),
    lastEnd: Math.max(...ran.map((s) => s.last)),
    count: ran.reduce((a, s) => a + s.count, 0),
    latencies: ran.flatMap((s) => s.latencies),
    // The tree at its largest: the supervisor, and --num-workers slots each holding (at most) the largest
    // worker process (a recycled process is replaced, not added: rolling recycling overlaps briefly).
    peakRssKb: supervisorHwmKb + numWorkers * workerHwmKb,
    cli: { wallMs, supervisorHwmKb, workerHwmKb, processes: Math.max(started, ran.length), ranJobs: ran.length },
  };
}

/** Messages already shown (a message repeated in later runs is not shown again). */
const shown = new Set<string>();

/** Show the log's warnings, errors and non-JSON lines on stderr: each distinct message once, then a count per run. */
async function forwardWarnings(file: string): Promise<void> {
  const counts = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    // Info lines (one per job at the default level) are the bulk of the file: skip them unparsed.
    if (/^\{"level":[123]\d,/.test(line)) continue;
    let key = line;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; err?: { code?: unknown; message?: unknown } };
      key = `${String(entry.msg)} ${String(entry.err?.code ?? entry.err?.message ?? '')}`.trim();
    } catch {
      // not JSON: shown as is
    }
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);
    if (count === 1 && !shown.has(key)) {
      shown.add(key);
      process.stderr.write(`  [bench worker] ${line}\n`);
    }
  }
  for (const [key, count] of counts) if (count > 1) process.stderr.write(`  [bench worker] (+${count - 1} more: ${key})\n`);
}
