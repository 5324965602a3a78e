// Python RQ (Debian's python3-rq) under test, through benchmarks/adapters/rq_helper.py: every
// enqueue path is timed inside Python, and the worker is RQ's default Worker (a forked work horse per
// job, so one job at a time: no concurrency-50 figure). Skipped with a note when RQ is not installed.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onExit } from '../lib/redis-server.ts';
import type { Adapter, EnqueueMode, RunningWorker, Target, WorkerResult, WorkerSpec } from '../lib/types.ts';

const HELPER = fileURLToPath(new URL('./rq_helper.py', import.meta.url));

export interface RqRuntime {
  python: string;
  version: string;
}

/** The first Python that imports rq and redis: $BW_BENCH_PYTHON alone if set, else Debian's /usr/bin/python3, then python3. */
export function findRq(): RqRuntime | undefined {
  const chosen = process.env['BW_BENCH_PYTHON'];
  const candidates = chosen ? [chosen] : ['/usr/bin/python3', 'python3'];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import rq, redis; print(rq.__version__)'], { encoding: 'utf8' });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return undefined;
}

interface Helper {
  lines: AsyncIterable<Record<string, unknown>>;
  kill(): void;
  exited: Promise<number | null>;
}

export class RqAdapter implements Adapter {
  readonly id = 'rq';
  readonly label: string;
  readonly ours = false;
  /** A fork per job: a tenth of the jobs of the other systems' processing runs. */
  readonly processScale = 0.1;
  /** 100,000 x 0.1 jobs at RQ's ~100 jobs/s would take minutes per run: at most 1,500 (about 15 s). */
  readonly maxProcessJobs = 1500;
  readonly supportsConcurrency = false;
  readonly warmsUpItself = true;
  private port = 0;

  constructor(private readonly runtime: RqRuntime) {
    this.label = `RQ ${runtime.version}`;
  }

  async setup(target: Target): Promise<void> {
    this.port = target.port;
  }

  async close(): Promise<void> {}

  private helper(command: string, args: Record<string, unknown>): Helper {
    const child = spawn(this.runtime.python, [HELPER, String(this.port), command, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    onExit(kill);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    async function* lines(): AsyncIterable<Record<string, unknown>> {
      let buffer = '';
      for await (const chunk of child.stdout) {
        buffer += String(chunk);
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim()) yield JSON.parse(line) as Record<string, unknown>;
        }
      }
    }
    return { lines: lines(), kill, exited };
  }

  /** Run a helper command to its end; resolves to its last JSON line. */
  private async call(command: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const h = this.helper(command, args);
    let last: Record<string, unknown> | undefined;
    for await (const line of h.lines) last = line;
    const code = await h.exited;
    if (code !== 0 || !last) throw new Error(`rq_helper ${command} failed (exit code ${String(code)})`);
    return last;
  }

  async enqueue(mode: EnqueueMode, n: number, inFlight: number): Promise<number> {
    return Number((await this.call('enqueue', { mode, n, inFlight, warmup: Math.min(n, 500) }))['seconds']);
  }

  /** Large fills run in two helper processes at once: Python, not Redis, is the bottleneck here. */
  async fill(n: number): Promise<void> {
    if (n < 100_000) await this.call('fill', { n });
    else await Promise.all([this.call('fill', { n: Math.ceil(n / 2) }), this.call('fill', { n: Math.floor(n / 2) })]);
  }

  async produceSpaced(warmup: number, n: number, intervalMs: number): Promise<void> {
    await this.call('produce', { warmup, n, intervalMs });
  }

  startWorker(spec: WorkerSpec): RunningWorker {
    const h = this.helper('work', { mode: spec.mode, expect: spec.expect });
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const done = (async (): Promise<WorkerResult> => {
      let result: WorkerResult | undefined;
      for await (const line of h.lines) {
        if (line['ready'] === true) markReady();
        else result = line as unknown as WorkerResult;
      }
      const code = await h.exited;
      if (code !== 0 || !result) throw new Error(`RQ worker failed (exit code ${String(code)})`);
      return result;
    })();
    return { ready, done, kill: h.kill };
  }
}
