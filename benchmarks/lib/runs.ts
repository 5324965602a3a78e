// The repeated measurements of run.ts, one step at a time: every system's enqueue, then every system's
// c=1 drain, c=50 drain, bench-worker's 2 x 25 drains and ceiling, every system's latency. Interleaving
// by step keeps the figures compared with each other minutes closer in time than running each system's
// steps back to back (the machine's load drifts), and each run ends by pairing bench-worker's figures
// with its peers' of the same run (bw-report.ts pairedRatios). Failures are recorded, not fatal.
import { BenchWorkerAdapter } from '../adapters/bench-worker.ts';
import { pairedRatios } from './bw-report.ts';
import { ceilingScenario, drainOrder, drainScenario } from './bw-scenarios.ts';
import type { RedisStats } from './redis-stats.ts';
import type { Results } from './report.ts';
import { enqueueScenario, latencyScenario, processScenario, scaled, type Config, type ProcessResult } from './scenarios.ts';
import type { Adapter } from './types.ts';

export type Step = 'enqueue' | 'c1' | 'c50' | 'drains' | 'latency';

export const STEPS: readonly { id: Step; label: string }[] = [
  { id: 'enqueue', label: 'enqueue' },
  { id: 'c1', label: 'process c=1' },
  { id: 'c50', label: 'process c=50' },
  { id: 'drains', label: 'bench-worker 2 x 25 drains and protocol ceiling' },
  { id: 'latency', label: 'latency' },
];

export class Runs {
  /** Per system: metric key -> one value per run (or per repetition). */
  readonly results: Results = {};
  readonly failures: string[] = [];
  /** This run's figures, for the ratios paired within it. */
  private current: Record<string, Record<string, number>> = {};

  constructor(
    private readonly st: RedisStats,
    private readonly config: Config,
    private readonly log: (line: string) => void,
  ) {}

  record(system: string, key: string, value: number): void {
    ((this.results[system] ??= {})[key] ??= []).push(value);
    (this.current[system] ??= {})[key] = value;
  }

  /** A failing measurement (a worker crash) loses that measurement only: it is reported, not fatal. */
  async guarded(what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
      this.failures.push(`${what}: ${message}`);
      this.log(`${what} FAILED (left out of the medians): ${message}`);
    }
  }

  /** Whether `step` measures anything for this system. */
  applies(step: Step, adapter: Adapter): boolean {
    if (step === 'c50') return adapter.supportsConcurrency;
    if (step === 'drains') return adapter instanceof BenchWorkerAdapter;
    return true;
  }

  /** One step of run `run` for one (set up) system. */
  async step(step: Step, adapter: Adapter, run: number): Promise<void> {
    const what = `run ${run}/${this.config.runs}: ${adapter.label}`;
    if (step === 'enqueue') {
      await this.guarded(`${what}: enqueue`, async () => {
        for (const [key, value] of Object.entries(await enqueueScenario(adapter, this.st, this.config))) this.record(adapter.id, key, value);
      });
      if (adapter instanceof BenchWorkerAdapter) {
        await this.guarded(`${what}: bench enqueue --kwargs-file`, async () => {
          await this.st.flush();
          this.record(adapter.id, 'enq.cli', this.config.cliEnqueue / (await adapter.enqueueCli(this.config.cliEnqueue)));
        });
      }
    } else if (step === 'c1' || step === 'c50') {
      const c = step === 'c1' ? 1 : 50;
      await this.guarded(`${what}: process c=${c}`, async () => {
        const jobs = Math.min(scaled(adapter, this.config.process[step]), adapter.maxProcessJobs ?? Infinity);
        this.recordProcess(adapter.id, `proc.${step}`, await processScenario(adapter, this.st, jobs, { concurrency: c }));
      });
    } else if (step === 'drains') {
      if (adapter instanceof BenchWorkerAdapter) await this.drains(adapter, run, what);
    } else {
      await this.guarded(`${what}: latency`, async () => {
        for (const [key, value] of Object.entries(await latencyScenario(adapter, this.st, this.config))) this.record(adapter.id, key, value);
      });
    }
  }

  /** End of a run: record bench-worker's ratios to its peers (and its A/B ratios) paired within the run. */
  endRun(): void {
    const paired = pairedRatios(this.current);
    this.current = {};
    for (const [key, value] of Object.entries(paired)) this.record('bench-worker', key, value);
  }

  /** A drain's figures under `key` (its rate) and `key`.<figure>; the CLI's own figures for bench-worker. */
  private recordProcess(system: string, key: string, r: ProcessResult): void {
    this.record(system, key, r.rate);
    for (const k of ['calls', 'cpu', 'rssMiB'] as const) this.record(system, `${key}.${k}`, r[k]);
    if (r.cli && r.wallRate !== undefined) {
      this.record(system, `${key}.wall`, r.wallRate);
      this.record(system, `${key}.supMiB`, r.cli.supervisorHwmKb / 1024);
      this.record(system, `${key}.workerMiB`, r.cli.workerHwmKb / 1024);
      this.record(system, `${key}.procs`, r.cli.processes);
    }
  }

  /** bench-worker's 2 x 25 drains (A/B pairs side by side, order reversed every other run) and its protocol ceiling. */
  private async drains(adapter: BenchWorkerAdapter, run: number, what: string): Promise<void> {
    for (const name of drainOrder(run)) {
      await this.guarded(`${what}: drain ${name}`, async () => {
        const r = await drainScenario(adapter, this.st, this.config.drain, name);
        this.recordProcess(adapter.id, `drain.${name}`, r);
        if (name === 'quiet') this.recordProcess('bench-worker-2x25', 'proc.c50', r);
      });
    }
    await this.guarded(`${what}: protocol ceiling`, async () => {
      const ceiling = await ceilingScenario(adapter, this.st, this.config.drain);
      this.record(adapter.id, 'ceiling', ceiling.rate);
      this.record(adapter.id, 'ceiling.cpu', ceiling.cpu);
    });
  }
}
