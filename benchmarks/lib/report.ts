// Turns the per-run figures into medians, tables (Markdown, so a run can be pasted into
// docs/performance.md) with ratio rows (bench-worker ÷ best peer, ÷ BullMQ), and the --json document.
import { median } from './stats.ts';

export interface SystemInfo {
  id: string;
  label: string;
  ours: boolean;
  /** Shown in tables but left out of ratios (bench-worker's 2 x 25 row). */
  extra?: boolean;
}

/** Per system: metric key -> one value per run. */
export type Results = Record<string, Record<string, number[]>>;

export interface MetricDef {
  key: string;
  label: string;
  better: 'higher' | 'lower';
  digits: number;
}

export interface TableDef {
  title: string;
  metrics: MetricDef[];
  notes?: string[];
}

const m = (key: string, label: string, better: 'higher' | 'lower', digits = 0): MetricDef => ({ key, label, better, digits });

export function tableDefs(depths: readonly number[]): TableDef[] {
  const depthMetrics = depths.flatMap((d) => {
    const k = d >= 1_000_000 ? `${d / 1_000_000}M` : `${d / 1000}k`;
    return [
      m(`depth.${d}.enq.us`, `${k}: enqueue µs/job`, 'lower', 1),
      m(`depth.${d}.enq.cpu`, `${k}: enqueue Redis CPU µs/job`, 'lower', 1),
      m(`depth.${d}.proc.us`, `${k}: process µs/job`, 'lower', 1),
      m(`depth.${d}.proc.cpu`, `${k}: process Redis CPU µs/job`, 'lower', 1),
    ];
  });
  return [
    {
      title: 'Enqueue throughput (jobs/s, higher is better)',
      metrics: [m('enq.sequential', 'one at a time', 'higher'), m('enq.concurrent', '50 in flight', 'higher'), m('enq.bulk', 'bulk', 'higher')],
    },
    {
      title: 'Processing throughput, no-op jobs pre-loaded, first job start to last job end (jobs/s, higher is better)',
      metrics: [m('proc.c1', 'concurrency 1', 'higher'), m('proc.c50', 'concurrency 50', 'higher')],
      notes: [
        'bench-worker: the `bench worker --burst --quiet` CLI (dist/), default recycling, 1 worker process x C (`--num-workers 1 --concurrency C`); the extra row is `--num-workers 2 --concurrency 25`, on the longer drain of the targets table. Peers: one worker process (under tsx) running the jobs in-process.',
      ],
    },
    {
      title: 'Enqueue-to-start latency at low load (ms, lower is better)',
      metrics: [m('lat.p50', 'p50', 'lower', 2), m('lat.p99', 'p99', 'lower', 2)],
    },
    {
      title: 'Redis cost per job (lower is better)',
      metrics: [
        m('census.enq.client', 'enqueue: cmds sent', 'lower', 1),
        m('census.c1.client', 'process c=1: cmds sent', 'lower', 1),
        m('census.c50.client', 'process c=50: cmds sent', 'lower', 1),
        m('proc.c1.calls', 'process c=1: cmds run (incl. Lua)', 'lower', 1),
        m('proc.c50.calls', 'process c=50: cmds run (incl. Lua)', 'lower', 1),
        m('proc.c1.cpu', 'process c=1: Redis CPU µs', 'lower', 1),
        m('proc.c50.cpu', 'process c=50: Redis CPU µs', 'lower', 1),
        m('mem.perJob', 'Redis bytes per queued job', 'lower'),
        m('proc.c50.rssMiB', 'worker peak RSS MiB (c=50)', 'lower', 1),
      ],
      notes: [
        'cmds sent: client commands per job from MONITOR (an EVALSHA or a pipelined command counts 1); cmds run: INFO commandstats, those run inside Lua scripts included. Worker peak RSS: bench-worker, the process tree (supervisor + worker processes, plain node); peers, their one worker process (under tsx, about 33 MiB of it the loader).',
      ],
    },
    ...(depths.length > 0
      ? [{ title: 'Cost per job on top of a deep queue (enqueue a batch 50 in flight, process it at c=1; lower is better)', metrics: depthMetrics }]
      : []),
  ];
}

export function medians(results: Results): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [system, metrics] of Object.entries(results)) {
    out[system] = Object.fromEntries(Object.entries(metrics).map(([key, runs]) => [key, median(runs)]));
  }
  return out;
}

export interface Ratio {
  bestPeer: string | undefined;
  vsBestPeer: number;
  vsBullMQ: number;
}

/** Ours ÷ the best peer (highest or lowest, as the metric goes) and ours ÷ BullMQ (default settings). */
export function ratios(systems: readonly SystemInfo[], med: Record<string, Record<string, number>>, metric: MetricDef): Ratio {
  const ours = systems.find((s) => s.ours && !s.extra);
  const mine = ours ? med[ours.id]?.[metric.key] : undefined;
  let bestPeer: string | undefined;
  let best = Number.NaN;
  for (const s of systems) {
    if (s.ours || s.extra) continue;
    const v = med[s.id]?.[metric.key];
    if (v === undefined || !Number.isFinite(v)) continue;
    if (Number.isNaN(best) || (metric.better === 'higher' ? v > best : v < best)) {
      best = v;
      bestPeer = s.id;
    }
  }
  const bull = med['bullmq']?.[metric.key];
  const div = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? Number.NaN : a / b);
  return { bestPeer, vsBestPeer: div(mine, best), vsBullMQ: div(mine, bull) };
}

export function fmt(value: number | undefined, digits: number): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : '—';
}

/** One Markdown table per TableDef: a row per system (medians), then the two ratio rows. */
export function renderTables(systems: readonly SystemInfo[], results: Results, defs: readonly TableDef[], runs: number): string {
  const med = medians(results);
  const label = new Map(systems.map((s) => [s.id, s.label]));
  const lines: string[] = [];
  for (const def of defs) {
    // The depth table is long: one row per metric, one column per system, reads better.
    const transposed = def.metrics.length > 6;
    const shown = systems.filter((s) => def.metrics.some((mt) => med[s.id]?.[mt.key] !== undefined));
    lines.push(`### ${def.title}`, '');
    if (!transposed) {
      lines.push(`| system | ${def.metrics.map((mt) => mt.label).join(' | ')} |`);
      lines.push(`|---|${def.metrics.map(() => '---:').join('|')}|`);
      for (const s of shown) lines.push(`| ${s.label} | ${def.metrics.map((mt) => fmt(med[s.id]?.[mt.key], mt.digits)).join(' | ')} |`);
      const rs = def.metrics.map((mt) => ratios(systems, med, mt));
      lines.push(`| **bench-worker ÷ best peer** | ${rs.map((r) => `${fmtRatio(r.vsBestPeer)}${r.bestPeer && Number.isFinite(r.vsBestPeer) ? ` (${label.get(r.bestPeer)})` : ''}`).join(' | ')} |`);
      lines.push(`| **bench-worker ÷ BullMQ** | ${rs.map((r) => fmtRatio(r.vsBullMQ)).join(' | ')} |`);
    } else {
      lines.push(`| metric | ${shown.map((s) => s.label).join(' | ')} | ÷ best peer | ÷ BullMQ |`);
      lines.push(`|---|${shown.map(() => '---:').join('|')}|---:|---:|`);
      for (const mt of def.metrics) {
        const r = ratios(systems, med, mt);
        lines.push(`| ${mt.label} | ${shown.map((s) => fmt(med[s.id]?.[mt.key], mt.digits)).join(' | ')} | ${fmtRatio(r.vsBestPeer)} | ${fmtRatio(r.vsBullMQ)} |`);
      }
    }
    lines.push('');
    for (const note of def.notes ?? []) lines.push(`${note}`, '');
  }
  lines.push(`Each figure is the median of ${runs} run${runs === 1 ? '' : 's'}. Ratios: for "higher is better" figures above 1 means bench-worker wins; for "lower is better" figures below 1 means it wins.`);
  return lines.join('\n');
}
