// bench-worker's own report: the targets table (each target of the issue, measured in this run, as a
// ratio to BullMQ / Bee-Queue medians of the same run, met or not), the table of its `bench worker` CLI
// runs against the protocol ceiling, and the memory-stability table. Markdown, plus the --json shapes.
import { DRAINS, type MemoryResult, type MemorySample } from './bw-scenarios.ts';
import { fmt, fmtRatio } from './report.ts';
import { sum } from './stats.ts';

type Medians = Record<string, Record<string, number>>;

export interface TargetRow {
  figure: string;
  /** The figure itself (unit in `unit`). */
  measured: number;
  unit: string;
  /** The ratio the target is about (NaN when an operand is missing or the target is absolute). */
  ratio: number;
  /** Follows the ratio in the table: what it divides by, e.g. "vs Bee-Queue c=50 (14,642 jobs/s)". */
  versus: string;
  target: string;
  /** undefined: not measurable in this run (a peer was left out, or a measurement failed). */
  met: boolean | undefined;
  detail?: string;
}

export interface TargetSizes {
  c1: number;
  c50: number;
  drain: number;
  enqueue: Record<'sequential' | 'concurrent' | 'bulk', number>;
  cliEnqueue: number;
}

const n = (v: number) => v.toLocaleString('en-US');
const check = (value: number, ok: (v: number) => boolean): boolean | undefined => (Number.isFinite(value) ? ok(value) : undefined);

const DRAIN_ROWS: { key: string; label: string }[] = [
  { key: 'proc.c1', label: '1 x 1 (c=1)' },
  { key: 'proc.c50', label: '1 x 50' },
  ...Object.entries(DRAINS).map(([name, d]) => ({ key: `drain.${name}`, label: d.label })),
];

/**
 * The ratios of one run, each bench-worker figure ÷ its peer's figure of the same run (NaN when one is
 * missing); their medians over the runs are the ratios of the targets table. ab.*: time of A ÷ time of B
 * of two of bench-worker's own 2 x 25 drains (spawn to exit).
 */
export function pairedRatios(run: Medians): Record<string, number> {
  const v = (system: string, key: string): number => run[system]?.[key] ?? Number.NaN;
  const faster50 = Math.max(v('bullmq', 'proc.c50'), v('bee-queue', 'proc.c50'));
  const wallBull = v('bench-worker', 'drain.quiet.wall') / v('bullmq', 'proc.c50');
  const wallBee = v('bench-worker', 'drain.quiet.wall') / v('bee-queue', 'proc.c50');
  // The producer targets compare with the faster Bee-Queue variant of the run.
  const bee = (key: string): number => Math.max(v('bee-queue', key), v('bee-queue-lean', key));
  return {
    'pair.enq.sequential': v('bench-worker', 'enq.sequential') / bee('enq.sequential'),
    'pair.enq.concurrent': v('bench-worker', 'enq.concurrent') / bee('enq.concurrent'),
    'pair.enq.bulk': v('bench-worker', 'enq.bulk') / bee('enq.bulk'),
    'pair.enq.cli': v('bench-worker', 'enq.cli') / bee('enq.bulk'),
    'pair.c50.1x50': v('bench-worker', 'proc.c50') / faster50,
    'pair.c50.2x25': v('bench-worker-2x25', 'proc.c50') / faster50,
    'pair.wall.bullmq': wallBull,
    'pair.wall.bee': wallBee,
    'pair.wall': Math.min(wallBull, wallBee),
    'pair.c1': v('bench-worker', 'proc.c1') / v('bullmq', 'proc.c1'),
    'pair.cpu.c50.1x50': v('bench-worker', 'proc.c50.cpu') / v('bullmq', 'proc.c50.cpu'),
    'pair.cpu.c50.2x25': v('bench-worker-2x25', 'proc.c50.cpu') / v('bullmq', 'proc.c50.cpu'),
    'pair.cpu.c1': v('bench-worker', 'proc.c1.cpu') / v('bullmq', 'proc.c1.cpu'),
    'ab.recycle': v('bench-worker', 'drain.norecycle.wall') / v('bench-worker', 'drain.quiet.wall'),
    'ab.info': v('bench-worker', 'drain.quiet.wall') / v('bench-worker', 'drain.info.wall'),
    // How far each CLI run is from the protocol ceiling (in-job and spawn to exit).
    ...Object.fromEntries(
      DRAIN_ROWS.flatMap((row) => [
        [`ceil.${row.key}`, v('bench-worker', row.key) / v('bench-worker', 'ceiling')],
        [`ceil.${row.key}.wall`, v('bench-worker', `${row.key}.wall`) / v('bench-worker', 'ceiling')],
      ]),
    ),
  };
}

export function targetRows(med: Medians, sizes: TargetSizes): TargetRow[] {
  const bw = med['bench-worker'] ?? {};
  const get = (system: string, key: string): number | undefined => med[system]?.[key];
  const ratio = (key: string): number => bw[key] ?? Number.NaN;
  const peers50 = `vs the faster peer c=50 of each run (BullMQ ${fmt(get('bullmq', 'proc.c50'), 0)}, Bee-Queue ${fmt(get('bee-queue', 'proc.c50'), 0)} jobs/s)`;
  const rows: TargetRow[] = [];
  const throughput = (figure: string, value: number | undefined, key: string) => {
    const r = ratio(key);
    rows.push({ figure, measured: value ?? Number.NaN, unit: 'jobs/s', ratio: r, versus: peers50, target: '≥ 1.5x the faster of BullMQ and Bee-Queue (c=50)', met: check(r, (x) => x >= 1.5) });
  };
  throughput(`process, concurrency 50: 1 worker process x 50 (${n(sizes.c50)} jobs)`, bw['proc.c50'], 'pair.c50.1x50');
  throughput(`process, concurrency 50: 2 worker processes x 25 (${n(sizes.drain)} jobs)`, get('bench-worker-2x25', 'proc.c50'), 'pair.c50.2x25');

  const wall = ratio('pair.wall');
  rows.push({
    figure: `\`bench worker --burst --num-workers 2 --concurrency 25\`, ${n(sizes.drain)} queued jobs, spawn to exit`,
    measured: bw['drain.quiet.wall'] ?? Number.NaN,
    unit: 'jobs/s',
    ratio: wall,
    versus: `(the lower of: vs BullMQ c=50 ${fmtRatio(ratio('pair.wall.bullmq'))}, vs Bee-Queue c=50 ${fmtRatio(ratio('pair.wall.bee'))})`,
    target: "≥ 1.5x BullMQ's and Bee-Queue's c=50",
    met: check(wall, (x) => x >= 1.5),
  });

  const c1 = ratio('pair.c1');
  rows.push({ figure: `process, concurrency 1 (${n(sizes.c1)} jobs)`, measured: bw['proc.c1'] ?? Number.NaN, unit: 'jobs/s', ratio: c1, versus: `vs BullMQ c=1 (${fmt(get('bullmq', 'proc.c1'), 0)} jobs/s)`, target: '≥ 1.5x BullMQ', met: check(c1, (x) => x >= 1.5) });

  const cpu = (figure: string, value: number | undefined, key: string, peerKey: string, limit: number) => {
    const r = ratio(key);
    const peer = `BullMQ ${peerKey === 'proc.c1.cpu' ? 'c=1' : 'c=50'}`;
    rows.push({ figure, measured: value ?? Number.NaN, unit: 'Redis CPU µs/job', ratio: r, versus: `vs ${peer} (${fmt(get('bullmq', peerKey), 1)} µs)`, target: `≤ ${limit}x BullMQ's`, met: check(r, (x) => x <= limit) });
  };
  cpu('Redis CPU per processed job, c=50 (1 x 50)', bw['proc.c50.cpu'], 'pair.cpu.c50.1x50', 'proc.c50.cpu', 0.7);
  cpu('Redis CPU per processed job, c=50 (2 x 25)', get('bench-worker-2x25', 'proc.c50.cpu'), 'pair.cpu.c50.2x25', 'proc.c50.cpu', 0.7);
  cpu('Redis CPU per processed job, c=1', bw['proc.c1.cpu'], 'pair.cpu.c1', 'proc.c1.cpu', 0.6);

  const rss = bw['drain.quiet.rssMiB'];
  rows.push({
    figure: `peak RSS of the worker process tree, 2 x 25, ${n(sizes.drain)}-job drain, .mjs jobs`,
    measured: rss ?? Number.NaN,
    unit: 'MiB',
    ratio: Number.NaN,
    versus: '',
    target: '≤ 200 MiB',
    met: check(rss ?? Number.NaN, (v) => v <= 200),
    detail: `supervisor ${fmt(bw['drain.quiet.supMiB'], 1)} + 2 x worker process ${fmt(bw['drain.quiet.workerMiB'], 1)}; .ts jobs: ${fmt(bw['drain.ts.rssMiB'], 1)} MiB (not a target)`,
  });
  const p99 = bw['lat.p99'];
  rows.push({ figure: 'p99 enqueue-to-start, idle worker (c=1)', measured: p99 ?? Number.NaN, unit: 'ms', ratio: Number.NaN, versus: '', target: '≤ 2 ms', met: check(p99 ?? Number.NaN, (v) => v <= 2), detail: `p50 ${fmt(bw['lat.p50'], 2)} ms` });

  // The producer (issue 9): enqueue throughput against the faster Bee-Queue variant, and bytes per job.
  const beeBest = (key: string) => Math.max(get('bee-queue', key) ?? Number.NaN, get('bee-queue-lean', key) ?? Number.NaN);
  const enqueue = (figure: string, key: string, peerKey: string, limit: number) => {
    const r = ratio(key);
    rows.push({ figure, measured: bw[key.replace('pair.', '')] ?? Number.NaN, unit: 'jobs/s', ratio: r, versus: `vs the faster Bee-Queue (${fmt(beeBest(peerKey), 0)} jobs/s)`, target: `≥ ${limit}x Bee-Queue`, met: check(r, (x) => x >= limit) });
  };
  enqueue(`enqueue one at a time, each awaited (${n(sizes.enqueue.sequential)} jobs)`, 'pair.enq.sequential', 'enq.sequential', 1);
  enqueue(`enqueue, 50 in flight (${n(sizes.enqueue.concurrent)} jobs)`, 'pair.enq.concurrent', 'enq.concurrent', 1);
  enqueue(`bulk \`enqueueMany\` (${n(sizes.enqueue.bulk)} jobs)`, 'pair.enq.bulk', 'enq.bulk', 1.5);
  enqueue(`bulk \`bench enqueue --kwargs-file\`, ${n(sizes.cliEnqueue)} lines, process start included (vs Bee-Queue's bulk)`, 'pair.enq.cli', 'enq.bulk', 1);
  const bytes = bw['mem.perJob'];
  rows.push({ figure: 'Redis bytes per queued no-op job', measured: bytes ?? Number.NaN, unit: 'B', ratio: Number.NaN, versus: '', target: '≤ 230 B', met: check(bytes ?? Number.NaN, (b) => b <= 230) });

  /** A/B of two 2 x 25 drains: time of `a` ÷ time of `b`, paired per run (ab.* keys), median of the runs. */
  const ab = (figure: string, key: string, a: [string, string], b: [string, string]) => {
    const ratio = bw[key] ?? Number.NaN;
    rows.push({
      figure,
      measured: (ratio - 1) * 100,
      unit: '% slower',
      ratio,
      versus: `the time of ${b[0]}`,
      target: '< 10% slower',
      met: check(ratio, (r) => r < 1.1),
      detail: `${a[0]} ${fmt(bw[`drain.${a[1]}.wall`], 0)} vs ${b[0]} ${fmt(bw[`drain.${b[1]}.wall`], 0)} jobs/s, spawn to exit`,
    });
  };
  ab(`default recycling vs none (worker_max_jobs 0), ${n(sizes.drain)}-job drain, 2 x 25`, 'ab.recycle', ['default', 'quiet'], ['none', 'norecycle']);
  ab(`default \`info\` logging vs \`--quiet\`, ${n(sizes.drain)}-job drain, 2 x 25`, 'ab.info', ['info', 'info'], ['--quiet', 'quiet']);
  return rows;
}

export function renderTargets(rows: readonly TargetRow[]): string {
  const measured = (r: TargetRow) => {
    const digits = r.unit === 'ms' ? 2 : r.unit === 'jobs/s' ? 0 : 1;
    const main = r.unit === '% slower' ? `${r.measured >= 0 ? '+' : ''}${fmt(r.measured, 1)}% time` : `${fmt(r.measured, digits)} ${r.unit}`;
    return r.detail ? `${main} (${r.detail})` : main;
  };
  const ratio = (r: TargetRow) => (Number.isFinite(r.ratio) ? `${fmtRatio(r.ratio)} ${r.versus}`.trim() : '—');
  const met = (r: TargetRow) => (r.met === undefined ? 'not measured' : r.met ? '**yes**' : 'no');
  return [
    '### Targets',
    '',
    '| figure | measured | ratio | target | met? |',
    '|---|---:|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${measured(r)} | ${ratio(r)} | ${r.target} | ${met(r)} |`),
    '',
    'Measured: the median of the runs. Ratio: the median over the runs of the ratio within each run (bench-worker\'s figure ÷ the peer\'s figure of the same run, or ÷ the other variant\'s), so that a load drifting between runs cancels out. Peers: BullMQ and Bee-Queue with default settings, their worker in a process of its own running the jobs in-process. Throughput: jobs ÷ (last job end − first job start), taken inside the jobs, except the spawn-to-exit row. bench-worker runs the `bench worker` CLI of dist/ with `--quiet` and default recycling unless the row says otherwise.',
  ].join('\n');
}

/** bench-worker's CLI runs side by side, and how far each is from the protocol ceiling. */
export function renderDrains(med: Medians, sizes: TargetSizes): string {
  const bw = med['bench-worker'] ?? {};
  const ceiling = bw['ceiling'];
  const lines = [
    '### bench-worker: `bench worker` CLI runs and the protocol ceiling (jobs/s higher is better, the rest lower)',
    '',
    '| run | jobs | in-job jobs/s | ÷ ceiling | spawn-to-exit jobs/s | ÷ ceiling | Redis CPU µs/job | peak RSS tree MiB | supervisor MiB | largest worker MiB | worker processes started |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of DRAIN_ROWS) {
    const k = (suffix: string) => bw[`${row.key}${suffix}`];
    const jobs = row.key === 'proc.c1' ? sizes.c1 : row.key === 'proc.c50' ? sizes.c50 : sizes.drain;
    lines.push(
      `| ${row.label} | ${n(jobs)} | ${fmt(k(''), 0)} | ${fmtRatio(bw[`ceil.${row.key}`] ?? Number.NaN)} | ${fmt(k('.wall'), 0)} | ${fmtRatio(bw[`ceil.${row.key}.wall`] ?? Number.NaN)} | ${fmt(k('.cpu'), 1)} | ${fmt(k('.rssMiB'), 1)} | ${fmt(k('.supMiB'), 1)} | ${fmt(k('.workerMiB'), 1)} | ${fmt(k('.procs'), 0)} |`,
    );
  }
  lines.push(`| **protocol ceiling**: the fetch script alone, 2 loops x 25 jobs per call, no job code | ${n(sizes.drain)} | ${fmt(ceiling, 0)} | 1.00x | — | — | ${fmt(bw['ceiling.cpu'], 1)} | — | — | — | — |`);
  lines.push(
    '',
    '÷ ceiling: the median over the runs of the ratio to the ceiling of the same run. in-job: first job start to last job end; spawn-to-exit: wall time of the `bench worker --burst` process, start-up and shutdown included. Peak RSS tree: the supervisor\'s VmHWM (read every 100 ms) + --num-workers x the largest worker process\'s VmHWM. Worker processes started: seen among the supervisor\'s children (listed every 200 ms), more than --num-workers when some were recycled (a replacement started near the end of a drain may run no job).',
  );
  return lines.join('\n');
}

const mib = (kb: number | undefined) => (kb === undefined || kb === 0 ? Number.NaN : kb / 1024);

/** Memory stability: VmRSS of the supervisor and of each worker process at 10% and at 100% of the jobs. */
export function renderMemory(memory: MemoryResult | undefined): string {
  if (!memory) return '';
  const { early, late } = memory;
  const pct = (s: MemorySample) => `${fmt((s.finished * 100) / memory.jobs, 1)}%, ${fmt(s.atMs / 1000, 1)} s`;
  const row = (label: string, a: number | undefined, b: number | undefined) => {
    const change = mib(b) - mib(a);
    const ok = Number.isFinite(change) ? (Math.abs(change) <= 20 ? 'yes' : 'no') : 'not measured';
    return `| ${label} | ${fmt(mib(a), 1)} | ${fmt(mib(b), 1)} | ${Number.isFinite(change) ? `${change >= 0 ? '+' : ''}${fmt(change, 1)}` : '—'} | ${ok} |`;
  };
  const pids = Object.keys(early.workersKb);
  return [
    `### Memory stability: one ${n(memory.jobs)}-job drain, 2 x 25, --quiet, .mjs jobs, recycling off (VmRSS MiB)`,
    '',
    `| process | at 10% (${pct(early)}) | at 100% (${pct(late)}) | change | within 20 MiB? |`,
    '|---|---:|---:|---:|---|',
    row('supervisor', early.supervisorKb, late.supervisorKb),
    ...pids.map((pid, i) => row(`worker process ${i + 1} (pid ${pid})`, early.workersKb[pid], late.workersKb[pid])),
    '',
    `Recycling is off (worker_max_jobs 0) for this drain, so that the worker processes sampled at 10% are the ones alive at 100%; the CLI runs without --burst and is stopped (SIGTERM, warm) once the finished set holds every job, so that it is sampled still up. Peak RSS of the tree over the drain: ${fmt(mib(memory.peakRssKb), 1)} MiB.`,
    '',
    `What the tree holds at 100%: VmRSS ${fmt(mib(late.supervisorKb + sum(Object.values(late.workersKb))), 1)} MiB summed over its processes, of which ${fmt(mib(late.treeFileKb), 1)} MiB are file-backed pages (mostly the node binary, the same pages counted once per process); its PSS, which counts a shared page once across the tree, is ${fmt(mib(late.treePssKb), 1)} MiB (at 10%: ${fmt(mib(early.treePssKb), 1)} MiB).`,
  ].join('\n');
}
