// Shapes shared by the benchmark's orchestrator (run.ts), its scenarios and the per-system adapters.

export type EnqueueMode = 'sequential' | 'concurrent' | 'bulk';

export interface Target {
  host: string;
  port: number;
}

/** How a worker process is to run. */
export interface WorkerSpec {
  /** drain: process `expect` pre-loaded jobs, then exit (burst). count: wait for jobs, exit after `expect`. */
  mode: 'drain' | 'count';
  expect: number;
  /** Jobs run at once (bench-worker: slots per worker process). */
  concurrency: number;
  /** bench-worker only: worker processes, `--num-workers` (default 1). */
  children?: number;
  /** bench-worker only: `--quiet` (default true) or the default `info` logging (a line per job). */
  quiet?: boolean;
  /** bench-worker only: worker_max_jobs at its default (default), or 0 (off). */
  recycling?: 'default' | 'off';
  /** bench-worker only: the job module as plain JavaScript (tasks.mjs, default) or TypeScript (tasks.ts, through tsx). */
  jobs?: 'mjs' | 'ts';
}

/** What a worker process reports when it is done. Times are CLOCK_MONOTONIC ms, taken inside the job. */
export interface WorkerResult {
  firstStart: number;
  lastEnd: number;
  count: number;
  /** Enqueue-to-start latencies (ms) of jobs carrying an enqueue timestamp; warm-up jobs excluded. */
  latencies: number[];
  /** Peak resident memory (KiB) of the worker's processes (see docs/performance.md for each system). */
  peakRssKb: number;
  /** bench-worker (the `bench worker` CLI) only: */
  cli?: CliDetail;
}

/** What only a worker run through the `bench worker` CLI reports. */
export interface CliDetail {
  /** Wall time from spawning the CLI to its exit (ms): process start-up and shutdown included. */
  wallMs: number;
  /** Peak resident set (VmHWM, KiB) of the supervisor, and of its largest worker process. */
  supervisorHwmKb: number;
  workerHwmKb: number;
  /** Worker processes started (more than --num-workers when some were recycled), and those of them that ran jobs. */
  processes: number;
  ranJobs: number;
}

export interface RunningWorker {
  /** Resolves once the worker is connected and waits for jobs. */
  ready: Promise<void>;
  done: Promise<WorkerResult>;
  /** SIGKILL whatever is left of it (failure path). */
  kill(): void;
}

export interface Adapter {
  /** Stable key, used in --json and --only. */
  readonly id: string;
  readonly label: string;
  /** bench-worker itself (not a peer). */
  readonly ours: boolean;
  /** Factor on the job counts of processing runs (RQ forks a process per job: fewer jobs). */
  readonly processScale: number;
  /** Cap on the jobs of one processing-throughput run (RQ: its ~100 jobs/s would take minutes). */
  readonly maxProcessJobs?: number;
  /** False when one worker cannot run several jobs at once (RQ). */
  readonly supportsConcurrency: boolean;
  /** Each enqueue() runs in a fresh process that warms itself up, untimed, and then flushes (RQ). */
  readonly warmsUpItself: boolean;
  setup(target: Target): Promise<void>;
  close(): Promise<void>;
  /** Enqueue n no-op jobs this way (concurrent: `inFlight` at once); resolves to elapsed seconds. */
  enqueue(mode: EnqueueMode, n: number, inFlight: number): Promise<number>;
  /** Put n no-op jobs on the queue by the fastest path (not timed). */
  fill(n: number): Promise<void>;
  startWorker(spec: WorkerSpec): RunningWorker;
  /** Enqueue `warmup` then `n` jobs, one every `intervalMs`, each carrying its enqueue timestamp. */
  produceSpaced(warmup: number, n: number, intervalMs: number): Promise<void>;
}

/** CLOCK_MONOTONIC in ms (the same clock for every process of the machine, Python's time.monotonic too). */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
