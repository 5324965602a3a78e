// The per-site fairness row (issue 13): site A floods the queue with N jobs, a 2 x 25 `bench worker`
// drains it, and once a tenth of the flood has run site B enqueues 10 jobs. Measured: how long B's jobs
// waited (enqueue to claim, Redis clock), p50 and p99, twice: "single list", the way every job waited in
// one FIFO list before lanes (the flood is moved into the legacy wait list, which workers drain first,
// exactly as the old protocol served its one list), and "lanes", the protocol as it is.
import { setTimeout as delay } from 'node:timers/promises';
import type { BenchWorkerAdapter } from '../adapters/bench-worker.ts';
import type { RedisStats } from './redis-stats.ts';
import { percentile } from './stats.ts';

const FLOOD_SITE = 'bench.local';
const OTHER_SITE = 'other.local';
const FEW = 10;
const POLL_MS = 20;

export interface FloodWait {
  p50: number;
  p99: number;
}

export interface FloodResult {
  flood: number;
  few: number;
  singleList: FloodWait;
  lanes: FloodWait;
}

async function oneFlood(adapter: BenchWorkerAdapter, stats: RedisStats, n: number, singleList: boolean): Promise<FloodWait> {
  await stats.flush();
  await adapter.fill(n);
  const keys = adapter.keys;
  if (singleList) {
    // The old protocol's one list: the whole flood in the list workers serve first, FIFO.
    await stats.client.rename(keys.lane(FLOOD_SITE), keys.wait);
    await stats.client.del(keys.sites, keys.turns, keys.queued);
  }
  adapter.addSite(OTHER_SITE);
  const worker = adapter.serve({ children: 2, concurrency: 25 });
  try {
    while ((await stats.client.zcard(keys.finished)) < n / 10) await delay(POLL_MS);
    const ids = await adapter.enqueueFor(OTHER_SITE, FEW);
    const waits: number[] = [];
    for (;;) {
      const pipeline = stats.client.pipeline();
      for (const id of ids) pipeline.hmget(keys.job(id), 'enq', 'started', 'status');
      const rows = ((await pipeline.exec()) ?? []).map(([, v]) => v as [string | null, string | null, string | null]);
      if (rows.every(([, , status]) => status === 'finished')) {
        for (const [enq, started] of rows) waits.push(Number(started) - Number(enq));
        break;
      }
      await delay(POLL_MS);
    }
    return { p50: percentile(waits, 50), p99: percentile(waits, 99) };
  } finally {
    worker.stop();
    await worker.done.catch(() => undefined);
  }
}

export async function floodScenario(adapter: BenchWorkerAdapter, stats: RedisStats, n: number): Promise<FloodResult> {
  const singleList = await oneFlood(adapter, stats, n, true);
  const lanes = await oneFlood(adapter, stats, n, false);
  return { flood: n, few: FEW, singleList, lanes };
}

export function renderFlood(result: FloodResult | undefined): string {
  if (!result) return '';
  const n = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return [
    `### Per-site fairness: site B's ${result.few} jobs enqueued behind site A's ${n(result.flood)}-job flood (2 x 25, --quiet)`,
    '',
    '| protocol | B\'s wait p50 (ms) | B\'s wait p99 (ms) |',
    '|---|---:|---:|',
    `| one FIFO list (before lanes) | ${n(result.singleList.p50)} | ${n(result.singleList.p99)} |`,
    `| per-site lanes (now) | ${n(result.lanes.p50)} | ${n(result.lanes.p99)} |`,
    '',
    'Wait = claim time - enqueue time of each of B\'s jobs (Redis clock). B enqueues once a tenth of the flood has run. "One FIFO list": the flood is moved into the legacy wait list, which workers drain first and in order, as the protocol before lanes served its single list.',
  ].join('\n');
}
