// The scheduler as commands and the library see it: a site's scheduler state (enabled, paused,
// disabled, maintenance) and its switches in site_config.json, the bench's lease holder and last tick,
// each scheduled method's last and next run, the hooks problems, and running one event by hand.
import type { Redis } from '../redis/client-type.js';
import type { BenchConfig, SiteConfig } from '../config/load.js';
import { updateSiteConfig } from '../config/update.js';
import type { SiteDatabase } from '../db/site-db.js';
import { BenchError } from '../errors.js';
import { benchKeys } from '../redis/keys.js';
import { scheduleOf, siteEvents, type SchedulerProblem } from './events.js';
import { leaseHolder, type LeaseHolder } from './lease.js';
import { nextFire } from './plan.js';
import { readJobTypes, syncJobTypes, type JobTypeRow } from './records.js';
import { enqueueRun, inactiveReason, type SchedulerEnv } from './tick.js';

export type SchedulerAction = 'enable' | 'disable' | 'pause' | 'resume';
export const SCHEDULER_ACTIONS: readonly SchedulerAction[] = ['enable', 'disable', 'pause', 'resume'];

/** A scheduled method as `scheduler list` shows it: its scheduled_job_type row (times in epoch ms). */
export type ScheduledMethod = Pick<JobTypeRow, 'name' | 'app' | 'method' | 'frequency' | 'cron' | 'queue' | 'stopped' | 'lastExecution' | 'nextExecution' | 'lastJobId'>;

export interface BenchSchedulerState {
  /** The `bench schedule` holding the lease, if one does. */
  holder: LeaseHolder | undefined;
  /** Epoch ms of the last tick, and the holder that ran it. */
  lastTick: number | undefined;
  lastTickBy: LeaseHolder | undefined;
}

export interface SchedulerStatus extends BenchSchedulerState {
  site: string;
  /** "enabled", or why the scheduler skips the site. */
  status: 'enabled' | 'paused' | 'disabled' | 'maintenance';
  timeZone: string;
  methods: ScheduledMethod[];
  problems: SchedulerProblem[];
}

export interface TriggerResult {
  site: string;
  event: string;
  enqueued: string[];
  skipped: string[];
}

/** The bench's scheduler holder and last tick (from Redis). */
export async function benchSchedulerState(redis: Redis, benchId: string): Promise<BenchSchedulerState> {
  const keys = benchKeys(benchId);
  const [holder, state] = await Promise.all([leaseHolder(redis, benchId), redis.hgetall(keys.schedulerState)]);
  return {
    holder,
    lastTick: state['lastTick'] === undefined ? undefined : Number(state['lastTick']),
    lastTickBy: parseHolder(state['lastTickBy']),
  };
}

export async function schedulerStatus(redis: Redis, bench: BenchConfig, site: SiteConfig, db: SiteDatabase): Promise<SchedulerStatus> {
  const events = await siteEvents(bench, site);
  const rows = await readJobTypes(db);
  const tz = site.settings.time_zone;
  const intervalMs = bench.settings.scheduler_tick_interval * 1000;
  const methods = events.jobTypes.map((type): ScheduledMethod => {
    const row = rows.get(type.name);
    const after = row?.lastExecution ?? row?.creation ?? Date.now();
    return {
      name: type.name,
      app: type.app,
      method: type.method,
      frequency: type.event,
      cron: type.cron,
      queue: type.queue,
      stopped: row?.stopped ?? false,
      lastExecution: row?.lastExecution,
      nextExecution: nextFire(scheduleOf(type, tz), Math.max(after, Date.now() - intervalMs), intervalMs),
      lastJobId: row?.lastJobId,
    };
  });
  return {
    site: site.site,
    status: inactiveReason(site) ?? 'enabled',
    timeZone: tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    ...(await benchSchedulerState(redis, bench.settings.bench_id)),
    methods,
    problems: events.problems,
  };
}

/** Write the switch of `action` in the site's site_config.json (1 or 0, as Frappe's commands write). */
export function setScheduler(_bench: BenchConfig, site: SiteConfig, action: SchedulerAction): void {
  if (!SCHEDULER_ACTIONS.includes(action)) {
    throw new BenchError('ERR_USAGE', `unknown scheduler action "${String(action)}": expected one of ${SCHEDULER_ACTIONS.join(', ')}`, { exitCode: 2 });
  }
  const patch = action === 'enable' || action === 'disable' ? { disable_scheduler: action === 'disable' ? 1 : 0 } : { pause_scheduler: action === 'pause' ? 1 : 0 };
  updateSiteConfig(site, patch);
}

/** Enqueue every method of `event` now (a fire time of now), skipping those whose previous run is still on. */
export async function triggerSchedulerEvent(env: SchedulerEnv, site: string, event: string): Promise<TriggerResult> {
  const bench = env.bench();
  const config = env.siteConfig(site);
  const events = await siteEvents(bench, config);
  const types = events.jobTypes.filter((t) => t.event === event || (t.event.startsWith('cron') && t.cron === event));
  if (types.length === 0) {
    const known = [...new Set(events.jobTypes.map((t) => t.event))];
    throw new BenchError('ERR_USAGE', `site "${site}" has no scheduled method for event "${event}" (its events: ${known.join(', ') || 'none'})`, {
      details: { site, event, events: known },
      exitCode: 2,
    });
  }
  const db = env.siteDb(site);
  const intervalMs = bench.settings.scheduler_tick_interval * 1000;
  const now = Date.now();
  const rows = await syncJobTypes(db, events.jobTypes, events.loadedApps, now, (type, after) => nextFire(scheduleOf(type, config.settings.time_zone), after, intervalMs));
  const result: TriggerResult = { site, event, enqueued: [], skipped: [] };
  for (const type of types) {
    const row = rows.get(type.name);
    if (!row) continue;
    const outcome = await enqueueRun(env, db, site, type, row, now, row.nextExecution, { claim: false, details: 'triggered by hand (trigger-scheduler-event)' });
    (outcome === 'enqueued' ? result.enqueued : result.skipped).push(type.method);
  }
  return result;
}

function parseHolder(raw: string | undefined): LeaseHolder | undefined {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as LeaseHolder;
  } catch {
    return undefined;
  }
}
