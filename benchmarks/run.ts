// `npm run benchmark`: bench-worker (its `bench worker` CLI) against BullMQ 6.7, Bee-Queue 2.0 (default
// and "lean") and, when Debian's python3-rq is installed, Python RQ; on one private redis-server started
// here and stopped by pid at the end (also on failure or Ctrl-C). It opens with the targets table of the
// issue (lib/bw-report.ts). See docs/performance.md for the method.
//   --quick      one run, few jobs, no 1M depth (a couple of minutes)
//   --json       print the results as JSON (progress goes to stderr either way)
//   --json-file F  also write the JSON results to file F
//   --runs N     runs per figure (default 3; the median is reported)
//   --only a,b   only these systems (ids: bench-worker, bullmq, bullmq-lean, bee-queue, bee-queue-lean, rq)
//   --no-depth   skip the queue-depth measurements
//   --wait-idle  before each system's measurements, wait until other processes leave the CPUs idle
//   --cluster    instead: bench-worker alone on a 3-shard Redis Cluster next to one redis-server (cluster.ts)
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { BeeQueueAdapter } from './adapters/bee-queue.ts';
import { runClusterBenchmark } from './cluster.ts';
import { BenchWorkerAdapter } from './adapters/bench-worker.ts';
import { BullMQAdapter } from './adapters/bullmq.ts';
import { findRq, RqAdapter } from './adapters/rq.ts';
import { Census, type CensusCounts } from './lib/census.ts';
import { cpuBusy, machineInfo, waitForIdle, type MachineInfo } from './lib/machine.ts';
import { startPrivateRedis, type PrivateRedis } from './lib/redis-server.ts';
import { RedisStats } from './lib/redis-stats.ts';
import { medians, ratios, renderTables, tableDefs, type Results, type SystemInfo } from './lib/report.ts';
import { renderDrains, renderMemory, renderTargets, targetRows, type TargetRow, type TargetSizes } from './lib/bw-report.ts';
import { memoryScenario, type MemoryResult } from './lib/bw-scenarios.ts';
import { floodScenario, renderFlood, type FloodResult } from './lib/flood.ts';
import { Runs, STEPS } from './lib/runs.ts';
import { censusScenario, depthScenario, type Config } from './lib/scenarios.ts';
import type { Adapter } from './lib/types.ts';

interface Flags {
  quick: boolean;
  json: boolean;
  runs: number | undefined;
  only: string[] | undefined;
  depth: boolean;
  waitIdle: boolean;
  jsonFile: string | undefined;
  cluster: boolean;
}

function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = { quick: false, json: false, runs: undefined, only: undefined, depth: true, waitIdle: false, jsonFile: undefined, cluster: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') flags.quick = true;
    else if (arg === '--json') flags.json = true;
    else if (arg === '--no-depth') flags.depth = false;
    else if (arg === '--wait-idle') flags.waitIdle = true;
    else if (arg === '--cluster') flags.cluster = true;
    else if (arg === '--json-file' && argv[i + 1]) flags.jsonFile = argv[++i];
    else if (arg === '--runs' && /^[1-9]\d*$/.test(argv[i + 1] ?? '')) flags.runs = Number(argv[++i]);
    else if (arg === '--only' && argv[i + 1]) flags.only = (argv[++i] as string).split(',');
    else {
      process.stderr.write(`unknown or incomplete option ${String(arg)}\nusage: npm run benchmark -- [--quick] [--json] [--runs N] [--only ids] [--no-depth] [--wait-idle] [--json-file F] [--cluster]\n`);
      process.exit(2);
    }
  }
  return flags;
}

function configFor(flags: Flags): Config {
  if (flags.quick) {
    return {
      runs: flags.runs ?? 1, quick: true, inFlight: 50,
      enqueue: { sequential: 300, concurrent: 1000, bulk: 5000 },
      cliEnqueue: 20_000,
      process: { c1: 600, c50: 2000 },
      drain: 5000,
      memory: 20_000,
      flood: 5000,
      latency: { warmup: 5, n: 40, intervalMs: 10 },
      census: { enqueue: 100, process: 300 },
      depths: flags.depth ? [1000, 10_000] : [],
      depthBatch: 300,
    };
  }
  return {
    runs: flags.runs ?? 3, quick: false, inFlight: 50,
    enqueue: { sequential: 3000, concurrent: 10_000, bulk: 50_000 },
    cliEnqueue: 200_000,
    // Throughput rows: at least 100,000 jobs; the 2 x 25 drains of bench-worker's targets: 200,000.
    process: { c1: 100_000, c50: 100_000 },
    drain: 200_000,
    memory: 400_000,
    flood: 50_000,
    latency: { warmup: 10, n: 200, intervalMs: 15 },
    census: { enqueue: 1000, process: 2000 },
    depths: flags.depth ? [1000, 100_000, 1_000_000] : [],
    depthBatch: 2000,
  };
}

const started = Date.now();
function log(line: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.cluster) {
    process.stdout.write(`${await runClusterBenchmark({ quick: flags.quick, runs: flags.runs })}\n`);
    return;
  }
  const config = configFor(flags);
  const rq = findRq();
  const notes: string[] = [];
  const all: Adapter[] = [new BenchWorkerAdapter(), new BullMQAdapter(false), new BullMQAdapter(true), new BeeQueueAdapter(false), new BeeQueueAdapter(true)];
  if (rq) all.push(new RqAdapter(rq));
  else notes.push('RQ skipped: Python RQ is not installed (Debian: apt-get install python3-rq), or set BW_BENCH_PYTHON to a python3 that has rq.');
  const adapters = flags.only ? all.filter((a) => flags.only?.includes(a.id)) : all;
  // Other processes on the machine skew every figure: record the load, warn when it was not idle.
  const loads = { start: loadAverage(), max: loadAverage() };
  const busy = await cpuBusy();
  if (busy > 0.25 && !flags.waitIdle) {
    notes.push(`Other processes used ${(busy * 100).toFixed(0)}% of the CPUs when the run started: the figures are noisy; rerun on an idle machine (or with --wait-idle).`);
  }
  for (const note of notes) log(note);

  let redis: PrivateRedis | undefined;
  let stats: RedisStats | undefined;
  try {
    redis = await startPrivateRedis();
    const st = new RedisStats(redis.port);
    stats = st;
    const target = { host: redis.host, port: redis.port };
    const machine = await machineInfo(st.client, rq?.version);
    log(`redis-server ${machine.redis} on port ${redis.port} (pid ${redis.pid}); ${adapters.length} systems, ${config.runs} run(s)${config.quick ? ', quick' : ''}`);

    const runs = new Runs(st, config, log);
    const { results } = runs;
    const record = (system: string, key: string, value: number) => runs.record(system, key, value);
    const guarded = (what: string, step: () => Promise<void>) => runs.guarded(what, step);
    const systems: SystemInfo[] = adapters.map((a) => ({ id: a.id, label: a.label, ours: a.ours }));
    if (adapters.some((a) => a.ours)) systems.splice(1, 0, { id: 'bench-worker-2x25', label: 'bench-worker 2 x 25', ours: true, extra: true });

    // Step by step (every system's enqueue, then every system's c=1 drain...), the systems in reverse
    // order every other run: what is compared is measured close in time, and no system always goes first.
    for (let run = 1; run <= config.runs; run++) {
      const order = run % 2 === 1 ? adapters : [...adapters].reverse();
      for (const step of STEPS) {
        const stepStarted = Date.now();
        for (const adapter of order.filter((a) => runs.applies(step.id, a))) {
          if (flags.waitIdle) await waitForIdle(log);
          loads.max = Math.max(loads.max, loadAverage());
          await adapter.setup(target);
          try {
            await runs.step(step.id, adapter, run);
          } finally {
            await adapter.close();
          }
        }
        log(`run ${run}/${config.runs}: ${step.label}: ${((Date.now() - stepStarted) / 1000).toFixed(1)} s`);
      }
      runs.endRun();
    }

    // bench-worker's own scenarios, once each: `what` is logged and names a failed measurement.
    const ours = adapters.find((a): a is BenchWorkerAdapter => a instanceof BenchWorkerAdapter);
    const once = async <T>(what: string, scenario: (adapter: BenchWorkerAdapter) => Promise<T>): Promise<T | undefined> => {
      if (!ours) return undefined;
      if (flags.waitIdle) await waitForIdle(log);
      log(`${what}: bench-worker`);
      let result: T | undefined;
      await ours.setup(target);
      try {
        await guarded(what, async () => {
          result = await scenario(ours);
        });
      } finally {
        await ours.close();
      }
      return result;
    };
    // Memory stability: one long drain. Per-site fairness: site B's wait behind site A's flood, one FIFO list against lanes.
    const memory = await once(`memory stability, ${config.memory.toLocaleString('en-US')} jobs`, (a) => memoryScenario(a, st, config.memory));
    const flood = await once(`per-site fairness, a ${config.flood.toLocaleString('en-US')}-job flood`, (a) => floodScenario(a, st, config.flood));

    const census = new Census(redis.port, st.client);
    const censusDetail: Record<string, Record<string, CensusCounts>> = {};
    // --quick: c=1 only, and not the lean variants (they send what the default ones send).
    for (const adapter of config.quick ? adapters.filter((a) => !a.id.endsWith('-lean')) : adapters) {
      if (flags.waitIdle) await waitForIdle(log);
      log(`command census: ${adapter.label}`);
      await adapter.setup(target);
      try {
        await guarded(`command census: ${adapter.label}`, async () => {
          const { metrics, detail } = await censusScenario(adapter, st, census, config);
          for (const [key, value] of Object.entries(metrics)) record(adapter.id, key, value);
          censusDetail[adapter.id] = detail;
        });
      } finally {
        await adapter.close();
      }
    }

    // Depth: the default configuration of each system (the lean variants change only what is kept after a job).
    for (const adapter of config.depths.length > 0 ? adapters.filter((a) => !a.id.endsWith('-lean')) : []) {
      if (flags.waitIdle) await waitForIdle(log);
      log(`queue depth: ${adapter.label}`);
      await adapter.setup(target);
      try {
        await guarded(`queue depth: ${adapter.label}`, async () => {
          for (const [key, values] of Object.entries(await depthScenario(adapter, st, config, log))) for (const v of values) record(adapter.id, key, v);
        });
      } finally {
        await adapter.close();
      }
    }
    if (runs.failures.length > 0) notes.push(`Failed measurements, left out of the medians: ${runs.failures.join('; ')}.`);

    const defs = tableDefs(config.depths);
    notes.push(
      `1-min load average ${loads.start.toFixed(1)} at the start, at most ${loads.max.toFixed(1)} before a measurement (it lags by a minute; the benchmark itself adds about 2)${flags.waitIdle ? '; each system waited for idle CPUs (--wait-idle)' : ''}.`,
    );
    const sizes: TargetSizes = { c1: config.process.c1, c50: config.process.c50, drain: config.drain, enqueue: config.enqueue, cliEnqueue: config.cliEnqueue };
    const targets = ours ? targetRows(medians(results), sizes) : [];
    const extra = { targets, memory: memory ?? null, flood: flood ?? null, census: censusDetail };
    const json = `${JSON.stringify(jsonDocument(machine, config, systems, results, notes, defs, extra), null, 2)}\n`;
    if (flags.jsonFile) writeFileSync(flags.jsonFile, json);
    if (flags.json) {
      process.stdout.write(json);
    } else {
      const ownTables = ours ? [renderTargets(targets), renderDrains(medians(results), sizes), renderMemory(memory), renderFlood(flood)] : [];
      const sections = [header(machine, config, notes), ...ownTables, renderTables(systems, results, defs, config.runs)];
      process.stdout.write(`${sections.filter(Boolean).join('\n\n')}\n`);
    }
    log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await stats?.close();
    redis?.stop();
  }
}

function loadAverage(): number {
  return os.loadavg()[0] ?? 0;
}

function header(machine: MachineInfo, config: Config, notes: readonly string[]): string {
  return [
    `## bench-worker benchmark${config.quick ? ' (--quick)' : ''}`,
    '',
    `Machine: ${machine.cpu} x ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, Linux ${machine.kernel}; Node ${machine.node}, Redis ${machine.redis}; ${machine.libraries}.`,
    `bench-worker: ${machine.commit}.`,
    ...notes.map((n) => `\n> ${n}`),
  ].join('\n');
}

function jsonDocument(
  machine: MachineInfo,
  config: Config,
  systems: readonly SystemInfo[],
  results: Results,
  notes: readonly string[],
  defs: ReturnType<typeof tableDefs>,
  extra: { targets: TargetRow[]; memory: MemoryResult | null; flood: FloodResult | null; census: Record<string, Record<string, CensusCounts>> },
): Record<string, unknown> {
  const med = medians(results);
  const ratioTable = Object.fromEntries(defs.flatMap((d) => d.metrics).map((mt) => [mt.key, { better: mt.better, ...ratios(systems, med, mt) }]));
  // The targets first; NaN (not measured) becomes null in JSON.
  return { targets: extra.targets, machine, config, notes, systems, medians: med, runs: results, ratios: ratioTable, memory: extra.memory, flood: extra.flood, census: extra.census };
}

// Exit explicitly: the exit hooks (lib/redis-server.ts) then kill any worker left behind.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
