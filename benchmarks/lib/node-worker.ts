// Worker processes of the Node peers (BullMQ, Bee-Queue): the orchestrator forks benchmarks/worker-main.ts
// (under tsx) for each processing run, so a worker's memory and CPU are its own. (bench-worker runs its
// own `bench worker` CLI instead: lib/cli-worker.ts.) The child calls the adapter's
// runWorker and reports over IPC: "ready" once it waits for jobs, then its WorkerResult.
import { fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { onExit } from './redis-server.ts';
import type { RunningWorker, Target, WorkerResult, WorkerSpec } from './types.ts';

export type WorkerOptionValue = string | number | boolean;

export interface NodeWorkerInput {
  /** Adapter module name under benchmarks/adapters/ (without .ts). */
  system: string;
  target: Target;
  spec: WorkerSpec;
  options: Record<string, WorkerOptionValue>;
}

export type NodeWorkerMessage = { t: 'ready' } | { t: 'done'; result: WorkerResult } | { t: 'error'; message: string };

/** The worker side of an adapter: run until done, call ready() once waiting for jobs. */
export type RunWorker = (input: NodeWorkerInput, ready: () => void) => Promise<WorkerResult>;

const WORKER_MAIN = fileURLToPath(new URL('../worker-main.ts', import.meta.url));
const TIMEOUT_MS = 20 * 60 * 1000;

export function startNodeWorker(input: NodeWorkerInput): RunningWorker {
  const child = fork(WORKER_MAIN, [JSON.stringify(input)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  if (child.stdout) forwardLog(input.system, child.stdout);
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  onExit(kill);
  let markReady: () => void = () => {};
  let fail: (err: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    fail = reject;
  });
  const done = new Promise<WorkerResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`${input.system} worker timed out`));
    }, TIMEOUT_MS);
    let result: WorkerResult | undefined;
    child.on('message', (message: NodeWorkerMessage) => {
      if (message.t === 'ready') markReady();
      else if (message.t === 'done') result = message.result;
      else reject(new Error(`${input.system} worker failed: ${message.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else {
        const err = new Error(`${input.system} worker exited (code ${String(code)}, signal ${String(signal)}) without a result`);
        fail(err);
        reject(err);
      }
    });
  });
  // A failure is reported through `done`; `ready` alone must not crash the process when unobserved.
  ready.catch(() => {});
  return { ready, done, kill };
}

/**
 * A worker's stdout goes to our stderr, so --json stays clean.
 * A message repeated by many jobs is shown once, then counted: "(+N more: <msg>)" when the worker ends.
 */
function forwardLog(system: string, stdout: Readable): void {
  const seen = new Map<string, number>();
  const lines = createInterface({ input: stdout });
  lines.on('line', (line) => {
    let key = line;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; err?: { code?: unknown; message?: unknown } };
      key = `${String(entry.msg)} ${String(entry.err?.code ?? entry.err?.message ?? '')}`;
    } catch {
      // not JSON: shown as is
    }
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    if (count === 1) process.stderr.write(`  [${system} worker] ${line}\n`);
  });
  lines.on('close', () => {
    for (const [key, count] of seen) if (count > 1) process.stderr.write(`  [${system} worker] (+${count - 1} more: ${key})\n`);
  });
}
