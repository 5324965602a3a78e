// The dashboard's read handlers (GET, JSON), each filtered by the principal's sites (exact names):
//   overview (overview.ts), queueJobs and job (jobs.ts), and here: workers, sites, scheduler, history.
// readHandlers names them for the lead's route table. What a count costs, and when one is null instead
// of read at any price, is in counts.ts; per-minute history comes from monitor/history.ts.
import { benchSchedulerState } from '../../scheduler/status.js';
import type { LeaseHolder } from '../../scheduler/lease.js';
import type { SchedulerProblem } from '../../scheduler/events.js';
import { getWorkers } from '../../monitor/workers.js';
import { readHistory, MS_PER_MINUTE, type HistoryPoint } from '../../monitor/history.js';
import { isBenchError } from '../../errors.js';
import { siteOf } from '../../redis/job-record.js';
import { seesSite, type ApiContext, type Handler } from '../types.js';
import { countsOf, COUNT_STATES, NOT_COUNTED, SITE_COUNT_BOUND, siteTallies, talliedSites, type CountState, type StateCounts } from './counts.js';
import { job, queueJobs } from './jobs.js';
import { overview } from './overview.js';
import { intParam, orNull, queueNames, queueParam, redisNow, visibleBenchSites } from './params.js';

export interface WorkerView {
  name: string;
  host: string;
  pid: number;
  supervisorPid: number;
  queues: string[];
  state: 'idle' | 'busy';
  concurrency: number;
  /** Ids of the jobs it runs that the principal may see. */
  currentJobs: string[];
  /** How many of the jobs it runs are of sites the principal may not see. */
  hiddenJobs: number;
  /** Time running jobs over its time alive (times its concurrency), 0-100, as of its last heartbeat. */
  utilizationPercent: number;
  birth: number;
  uptimeMs: number;
  lastHeartbeat: number;
  successfulJobCount: number;
  failedJobCount: number;
  /** Seconds spent running jobs. */
  totalWorkingTime: number;
}

/** GET /api/workers: every live worker process (workers serve every site), its jobs filtered by site. */
export async function workers(ctx: ApiContext): Promise<{ at: number; workers: WorkerView[] }> {
  const now = Date.now();
  const list = await getWorkers(ctx.redis, ctx.bench().settings.bench_id);
  return {
    at: now,
    workers: list.map((w) => {
      const visible = w.currentJobs.filter((id) => seesSite(ctx.principal, siteOf(id)));
      return {
        name: w.name,
        host: w.host,
        pid: w.pid,
        supervisorPid: w.supervisorPid,
        queues: w.queues,
        state: w.state,
        concurrency: w.concurrency,
        currentJobs: visible,
        hiddenJobs: w.currentJobs.length - visible.length,
        utilizationPercent: w.utilizationPercent,
        birth: w.birth,
        uptimeMs: Math.max(0, now - w.birth),
        lastHeartbeat: w.lastHeartbeat,
        successfulJobCount: w.successfulJobCount,
        failedJobCount: w.failedJobCount,
        totalWorkingTime: w.totalWorkingTime,
      };
    }),
  };
}

export interface SiteRow {
  site: string;
  /** Over every queue; null when a queue's structure for that state was past the bound. */
  counts: Omit<StateCounts, 'canceled'>;
}

export interface SitesPayload {
  at: number;
  /** Most ids of one queue's delayed, finished or failed set read to count it by site. */
  bound: number;
  /** For each state counted nowhere, the queues whose structure was past the bound. */
  uncounted: Partial<Record<CountState, string[]>>;
  notCounted: typeof NOT_COUNTED;
  sites: SiteRow[];
}

/**
 * GET /api/sites: each site the principal may see (the bench's sites, and any other site holding jobs)
 * with its jobs per state over every queue, counted by site as counts.ts siteTallies does (bounded reads).
 */
export async function sites(ctx: ApiContext): Promise<SitesPayload> {
  const bench = ctx.bench();
  const benchId = bench.settings.bench_id;
  const now = await redisNow(ctx.redis);
  const tallies = await Promise.all(queueNames(bench).map((queue) => siteTallies(ctx.redis, benchId, queue, now)));
  const names = new Set(visibleBenchSites(ctx));
  for (const t of tallies) for (const site of talliedSites(t)) if (site !== '' && seesSite(ctx.principal, site)) names.add(site);
  const states = COUNT_STATES.filter((s): s is Exclude<CountState, 'canceled'> => s !== 'canceled');
  const uncounted: Partial<Record<CountState, string[]>> = {};
  for (const t of tallies) {
    for (const state of states) if (t[state] === undefined) (uncounted[state] ??= []).push(t.queue);
  }
  const rows = [...names].sort().map((site): SiteRow => {
    const perQueue = tallies.map((t) => countsOf(t, (name) => name === site));
    const counts = {} as Omit<StateCounts, 'canceled'>;
    for (const state of states) {
      counts[state] = perQueue.reduce<number | null>((sum, c) => (sum === null || c[state] === null ? null : sum + (c[state] as number)), 0);
    }
    return { site, counts };
  });
  return { at: now, bound: SITE_COUNT_BOUND, uncounted, notCounted: NOT_COUNTED, sites: rows };
}

type HolderView = Omit<LeaseHolder, 'token'>;

export interface ScheduledMethodView {
  name: string;
  app: string;
  method: string;
  /** The scheduler event (hourly, daily_long, cron...). */
  frequency: string;
  cron: string | null;
  queue: string;
  stopped: boolean;
  lastExecution: number | null;
  nextExecution: number | null;
  lastJobId: string | null;
}

export type SiteSchedule =
  | { site: string; status: 'enabled' | 'paused' | 'disabled' | 'maintenance'; timeZone: string; methods: ScheduledMethodView[]; problems: SchedulerProblem[] }
  | { site: string; error: { code: string; message: string } };

export interface SchedulerPayload {
  /** A `bench schedule` holds the lease (its key exists: it expires unless renewed). */
  up: boolean;
  holder: HolderView | null;
  lastTick: number | null;
  lastTickBy: HolderView | null;
  sites: SiteSchedule[];
}

/** GET /api/scheduler: the lease holder and last tick, and per site the principal sees its scheduled methods' last and next runs. */
export async function scheduler(ctx: ApiContext): Promise<SchedulerPayload> {
  const state = await benchSchedulerState(ctx.redis, ctx.bench().settings.bench_id);
  const siteSchedules: SiteSchedule[] = [];
  for (const site of visibleBenchSites(ctx)) {
    try {
      const status = await ctx.client.schedulerStatus(site);
      siteSchedules.push({
        site,
        status: status.status,
        timeZone: status.timeZone,
        problems: status.problems,
        methods: status.methods.map((m) => ({
          name: m.name,
          app: m.app,
          method: m.method,
          frequency: m.frequency,
          cron: orNull(m.cron),
          queue: m.queue,
          stopped: m.stopped,
          lastExecution: orNull(m.lastExecution),
          nextExecution: orNull(m.nextExecution),
          lastJobId: orNull(m.lastJobId),
        })),
      });
    } catch (err) {
      // One site's unreadable database or config must not hide the others.
      siteSchedules.push({ site, error: { code: isBenchError(err) ? err.code : 'ERR_INTERNAL', message: isBenchError(err) ? err.message : 'its scheduler status could not be read' } });
    }
  }
  return { up: state.holder !== undefined, holder: holderView(state.holder), lastTick: orNull(state.lastTick), lastTickBy: holderView(state.lastTickBy), sites: siteSchedules };
}

function holderView(holder: LeaseHolder | undefined): HolderView | null {
  return holder ? { host: holder.host, pid: holder.pid, since: holder.since } : null;
}

export interface HistoryPayload {
  /** False for a site-limited principal: the counters are per queue, not per site (see `reason`). */
  available: boolean;
  reason: string | null;
  /** Start of the first minute and of the last (epoch ms, UTC). */
  from: number;
  to: number;
  minutes: number;
  queues: { queue: string; points: HistoryPoint[] }[];
}

/**
 * GET /api/history?queue=&minutes=: jobs ended per minute (finished, failed, stopped) for the last
 * `minutes` (default 60, at most dashboard_history_days' worth), of one queue or of every queue.
 */
export async function history(ctx: ApiContext): Promise<HistoryPayload> {
  const bench = ctx.bench();
  const maxMinutes = bench.settings.dashboard_history_days * 1440;
  const minutes = intParam(ctx, 'minutes', 60, 1, maxMinutes);
  const queues = ctx.query.get('queue') ? [queueParam(ctx, 'query')] : queueNames(bench);
  const now = await redisNow(ctx.redis);
  const to = Math.floor(now / MS_PER_MINUTE) * MS_PER_MINUTE;
  const from = to - (minutes - 1) * MS_PER_MINUTE;
  if (ctx.principal.sites !== undefined) {
    return { available: false, reason: 'the per-minute counters are kept per queue, for every site together: they are not shown to a user limited to some sites', from, to, minutes, queues: [] };
  }
  const series = await Promise.all(queues.map(async (queue) => ({ queue, points: await readHistory(ctx.redis, bench.settings.bench_id, queue, from, now) })));
  return { available: true, reason: null, from, to, minutes, queues: series };
}

/** The read handlers by name, for the route table (GET /api/overview, /api/queues/:queue/jobs, /api/jobs/:id, ...). */
export const readHandlers = {
  overview,
  queueJobs,
  job,
  workers,
  sites,
  scheduler,
  history,
} as const satisfies Record<string, Handler>;

export { overview, queueJobs, job };
