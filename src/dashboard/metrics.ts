// GET /metrics: the bench in the Prometheus text format (metrics-format.ts), for one DashboardMetrics per
// dashboard process. The lead's event stream feeds it every job event (observeEvent); renderMetrics reads
// the rest from Redis at each scrape. Families (labels: queue and those named; `site` and `method` only
// where metrics_labels allows them, and only on the families whose data knows them):
//   bench_worker_jobs{queue,state[,site]}          gauge  jobs per state from the queue's counters
//       (api/counts.ts); canceled jobs are in no set and are not counted. With `site`: per-site counts,
//       bounded reads: a state whose set is past api/counts.ts SITE_COUNT_BOUND has no series then.
//   bench_worker_jobs_processed_total{queue,outcome} counter (finished, failed, stopped)  jobs ended
//       since this process's first scrape, from the per-minute history counters the workers write
//       (monitor/history.ts), not from the events, so it misses nothing while the subscription is down.
//       A sum over the kept days would fall as days expire, which a counter must never do: each scrape
//       adds what the minutes since the last scrape gained (the last scrape's minute less what was seen
//       of it then). It starts at 0 with the process, as counters do (Prometheus reads a restart as a
//       reset); no site or method: the history counters have neither.
//   bench_worker_queue_latency_seconds{queue}      gauge  how long the job at the head of the queue's
//       lists that has waited longest has been due (api/overview.ts queueLatencyMs); 0 when none waits.
//   bench_worker_job_duration_seconds{queue[,site][,method]}  histogram  from job_finished and
//       job_failed events' duration_ms (a retried attempt and a stopped job publish job_failed too).
//   bench_worker_job_wait_seconds{queue[,site][,method]}      histogram  from job_started to the later
//       of enqueue and due time. job_started carries neither the enqueue time (hash field `enq`), the
//       due time (`runAt`) nor the start time (`started`): the ids are kept (at most MAX_PENDING_WAITS
//       between two scrapes; further starts are counted in bench_worker_job_wait_unobserved_total) and
//       their three fields read at the next scrape, one pipelined HMGET each. `started` is the claim time,
//       so a prefetched job's wait ends when a worker process claimed it, not when it began running.
//   bench_worker_workers{queue,state}              gauge  live workers listening to the queue, idle/busy.
//   bench_worker_scheduler_up                      gauge  1 while the scheduler lease key exists (a
//       `bench schedule` renews it every scheduler_lease_ttl/4 s; it expires after scheduler_lease_ttl).
// Bench-wide figures: a principal limited to some sites is refused (403), never given other sites' numbers.
import { listSites } from '../config/load.js';
import type { Redis } from '../redis/client-type.js';
import { queueKeys } from '../redis/keys.js';
import { siteOf } from '../redis/job-record.js';
import { crossSlotPipeline } from '../redis/cross-slot.js';
import { execAll } from '../monitor/jobs.js';
import { getWorkers } from '../monitor/workers.js';
import { readHistory, type HistoryPoint } from '../monitor/history.js';
import { leaseHolder } from '../scheduler/lease.js';
import { siteTallies, talliedSites, totalCounts, COUNT_STATES } from './api/counts.js';
import { queueLatencyMs } from './api/overview.js';
import { queueNames, redisNow } from './api/params.js';
import { Exposition, Histogram, type Labels, type Sample } from './metrics-format.js';
import { HttpError, type ApiContext } from './types.js';
import { isRecord } from '../util/records.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What rendering needs of a request: the bench, its Redis, and who asks (undefined: /metrics is public). */
export type MetricsContext = Pick<ApiContext, 'bench' | 'redis'> & { principal?: ApiContext['principal'] | undefined };

/** Started jobs whose wait is read at the next scrape, at most. */
export const MAX_PENDING_WAITS = 50_000;
const DURATION_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600];
const WAIT_BOUNDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const OUTCOMES = ['finished', 'failed', 'stopped'] as const;
type Outcomes = Record<(typeof OUTCOMES)[number], number>;
/** HMGETs of one pipeline when reading started jobs' times. */
const WAIT_CHUNK = 1000;

interface PendingStart {
  queue: string;
  id: string;
  site: string;
  method: string;
}

export class DashboardMetrics {
  private readonly durations = new Histogram(DURATION_BOUNDS);
  private readonly waits = new Histogram(WAIT_BOUNDS);
  private pending: PendingStart[] = [];
  private unobserved = 0;
  /** Per queue: the minute of the last scrape and what its history showed for it then. */
  private readonly lastSeen = new Map<string, { minute: number; seen: Outcomes }>();
  private readonly processed = new Map<string, Outcomes>();
  /** Scrapes one after the other: two at once would both add the same minutes to the counters. */
  private rendering: Promise<unknown> = Promise.resolve();

  /** One job event as published on the bench's events channel (lua/includes/jobEvents.lua), parsed. */
  readonly observeEvent = (event: unknown): void => {
    if (!isRecord(event) || !isRecord(event.message)) return;
    // Published again to room user:<user> when the job has a user: counted once, from room job:<id>.
    if (typeof event.room === 'string' && !event.room.startsWith('job:')) return;
    const { message } = event;
    const queue = text(message.queue);
    const id = text(message.job_id);
    if (!queue || !id) return;
    const site = text(event.namespace) ?? siteOf(id);
    const method = text(message.method) ?? '';
    if (event.event === 'job_started') {
      if (this.pending.length < MAX_PENDING_WAITS) this.pending.push({ queue, id, site, method });
      else this.unobserved++;
    } else if (event.event === 'job_finished' || event.event === 'job_failed') {
      const ms = message.duration_ms;
      if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) this.durations.observe({ queue, site, method }, ms / 1000);
    }
  };

  /** The exposition text (ends with "\n"); serve it as METRICS_CONTENT_TYPE. */
  readonly renderMetrics = (ctx: MetricsContext): Promise<string> => {
    if (ctx.principal?.sites !== undefined) {
      return Promise.reject(new HttpError(403, 'ERR_FORBIDDEN', 'the metrics are bench-wide: a user limited to some sites may not read them'));
    }
    const run = this.rendering.then(() => this.render(ctx));
    this.rendering = run.catch(() => undefined);
    return run;
  };

  private async render(ctx: MetricsContext): Promise<string> {
    const bench = ctx.bench();
    const { redis } = ctx;
    const benchId = bench.settings.bench_id;
    const allowed = new Set(bench.settings.metrics_labels ?? []);
    const queues = queueNames(bench);
    const now = await redisNow(redis);
    const [jobs, latencies, workers, holder] = await Promise.all([
      allowed.has('site') ? jobsBySite(ctx, queues, now) : jobsTotals(redis, benchId, queues, now),
      Promise.all(queues.map((queue) => queueLatencyMs(redis, benchId, queue, now))),
      getWorkers(redis, benchId),
      leaseHolder(redis, benchId),
      this.countProcessed(redis, benchId, queues, now, bench.settings.dashboard_history_days),
      this.resolveWaits(redis, benchId),
    ]);
    const keep = ['queue', ...['site', 'method'].filter((label) => allowed.has(label as 'site' | 'method'))];
    return new Exposition()
      .family('bench_worker_jobs', 'gauge', 'Jobs per queue and state (canceled jobs are kept in no set and not counted).', jobs)
      .family('bench_worker_jobs_processed_total', 'counter', 'Jobs ended per queue and outcome since this dashboard process first served /metrics, from the per-minute history counters.', this.processedSamples(queues))
      .family('bench_worker_queue_latency_seconds', 'gauge', 'How long the longest-waiting job at the head of the queue has been due, in seconds (0 when none waits).', queues.map((queue, i) => ({ labels: { queue }, value: (latencies[i] ?? 0) / 1000 })))
      .histogram('bench_worker_job_duration_seconds', 'Run time of each ended job attempt, in seconds, from the job events.', this.durations, keep)
      .histogram('bench_worker_job_wait_seconds', 'Time from enqueue (or due time, for a scheduled job or a retry) to start, in seconds.', this.waits, keep)
      .family('bench_worker_job_wait_unobserved_total', 'counter', `Job starts whose wait was not measured: more than ${MAX_PENDING_WAITS} between two scrapes.`, [{ labels: {}, value: this.unobserved }])
      .family('bench_worker_workers', 'gauge', 'Live worker processes listening to the queue, by state.', workerSamples(workers, queues))
      .family('bench_worker_scheduler_up', 'gauge', '1 while a bench schedule process holds the scheduler lease.', [{ labels: {}, value: holder === undefined ? 0 : 1 }])
      .text();
  }

  /** Add to the processed counters what each queue's history gained since the last scrape. */
  private async countProcessed(redis: Redis, benchId: string, queues: readonly string[], now: number, historyDays: number): Promise<void> {
    await Promise.all(
      queues.map(async (queue) => {
        const last = this.lastSeen.get(queue);
        const from = last ? Math.max(last.minute, now - historyDays * 86_400_000) : now;
        const points = await readHistory(redis, benchId, queue, from, now);
        const total = this.processed.get(queue) ?? { finished: 0, failed: 0, stopped: 0 };
        if (last) {
          for (const point of points) for (const outcome of OUTCOMES) total[outcome] += point.minute === last.minute ? Math.max(0, point[outcome] - last.seen[outcome]) : point[outcome];
        }
        this.processed.set(queue, total);
        const newest = points[points.length - 1] as HistoryPoint | undefined;
        if (newest) this.lastSeen.set(queue, { minute: newest.minute, seen: { finished: newest.finished, failed: newest.failed, stopped: newest.stopped } });
      }),
    );
  }

  private processedSamples(queues: readonly string[]): Sample[] {
    return queues.flatMap((queue) => OUTCOMES.map((outcome) => ({ labels: { queue, outcome }, value: this.processed.get(queue)?.[outcome] ?? 0 })));
  }

  /** Observe the waits of the jobs started since the last scrape, from their hashes' enq, runAt and started. */
  private async resolveWaits(redis: Redis, benchId: string): Promise<void> {
    const starts = this.pending;
    this.pending = [];
    for (let at = 0; at < starts.length; at += WAIT_CHUNK) {
      const chunk = starts.slice(at, at + WAIT_CHUNK);
      const pipeline = crossSlotPipeline(redis);
      for (const start of chunk) pipeline.hmget(queueKeys(benchId, start.queue).job(start.id), 'enq', 'runAt', 'started');
      (await execAll(pipeline)).forEach((reply, i) => {
        const [enq, runAt, started] = (reply as (string | null)[]).map((v) => (v === null ? Number.NaN : Number(v)));
        const start = chunk[i] as PendingStart;
        const due = Math.max(enq ?? Number.NaN, Number.isFinite(runAt) ? (runAt as number) : 0);
        const wait = (started ?? Number.NaN) - due;
        if (Number.isFinite(wait)) this.waits.observe({ queue: start.queue, site: start.site, method: start.method }, Math.max(0, wait) / 1000);
      });
    }
  }
}

async function jobsTotals(redis: Redis, benchId: string, queues: readonly string[], now: number): Promise<Sample[]> {
  const counts = await Promise.all(queues.map((queue) => totalCounts(redis, benchId, queue, now)));
  return queues.flatMap((queue, i) =>
    COUNT_STATES.flatMap((state): Sample[] => {
      const value = counts[i]?.[state];
      return value === null || value === undefined ? [] : [{ labels: { queue, state }, value }];
    }),
  );
}

/** bench_worker_jobs with a site label: every site of the bench (and any holding jobs), 0 where none. */
async function jobsBySite(ctx: MetricsContext, queues: readonly string[], now: number): Promise<Sample[]> {
  const bench = ctx.bench();
  const tallies = await Promise.all(queues.map((queue) => siteTallies(ctx.redis, bench.settings.bench_id, queue, now)));
  const sites = new Set(listSites(bench));
  for (const t of tallies) for (const site of talliedSites(t)) if (site !== '') sites.add(site);
  const samples: Sample[] = [];
  for (const t of tallies) {
    for (const state of COUNT_STATES) {
      const map = state === 'canceled' ? undefined : t[state];
      if (!map) continue;
      for (const site of [...sites].sort()) samples.push({ labels: { queue: t.queue, site, state }, value: map.get(site) ?? 0 });
    }
  }
  return samples;
}

function workerSamples(workers: readonly { queues: readonly string[]; state: string }[], queues: readonly string[]): Sample[] {
  return queues.flatMap((queue) =>
    (['idle', 'busy'] as const).map((state): Sample => ({ labels: { queue, state } as Labels, value: workers.filter((w) => w.state === state && w.queues.includes(queue)).length })),
  );
}


function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
