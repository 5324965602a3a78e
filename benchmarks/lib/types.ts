// Shapes shared by the benchmark's orchestrator (run.ts), its scenarios and the per-system adapters.
import { readFileSync } from 'node:fs';

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
  /** Jobs run at once (bench-worker: slots per child). */
  concurrency: number;
  /** bench-worker only: job-running child processes (default 1). */
  children?: number;
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
}

export interface RunningSupervisor {
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
  startSupervisor(spec: WorkerSpec): RunningSupervisor;
  /** Enqueue `warmup` then `n` jobs, one every `intervalMs`, each carrying its enqueue timestamp. */
  produceSpaced(warmup: number, n: number, intervalMs: number): Promise<void>;
}

/** CLOCK_MONOTONIC in ms (the same clock for every process of the machine, Python's time.monotonic too). */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** VmHWM (peak resident set) of a process, KiB; 0 when unreadable. */
export function readVmHwmKb(pid: number | 'self' = 'self'): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}
