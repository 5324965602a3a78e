// One scheduler tick: every site of the bench in random order (Frappe shuffles them too), skipping
// the paused, disabled and under-maintenance ones; in each, every job type due at the tick (events.ts,
// plan.ts) is enqueued once. An error on one site is logged and never stops the others. Each due run
// is: previous run still queued or running (and its worker alive)? skip, logged as Skipped; else claim
// the fire time in the site's database (records.ts), write the Queued log row, enqueue under the run's
// deterministic id (jobs/scheduled.ts) with deduplicate. The claim and the id make a tick idempotent:
// two schedulers ticking the same fire time enqueue it once.
import type { Redis } from '../redis/client-type.js';
import type { BenchConfig, SiteConfig } from '../config/load.js';
import { listSites } from '../config/load.js';
import type { SiteDatabase } from '../db/site-db.js';
import { BenchError } from '../errors.js';
import { scheduledJobId } from '../jobs/scheduled.js';
import type { Logger } from '../log/logger.js';
import { SITE_SEPARATOR } from '../redis/job-record.js';
import { queueKeys } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';
import type { EnqueueOptions } from '../vocabulary.js';
import { scheduleOf, siteEvents, type ScheduledJobType, type SchedulerProblem } from './events.js';
import { dueFire, nextFire } from './plan.js';
import { claimRun, failQueuedLog, pruneLog, rememberRun, syncJobTypes, unclaimRun, writeLog, type JobTypeRow } from './records.js';

/** What a tick works with: given by `bench schedule` (and by the client for trigger-scheduler-event). */
export interface SchedulerEnv {
  redis: Redis;
  log: Logger;
  /** The bench's config as of now. */
  bench(): BenchConfig;
  siteConfig(site: string): SiteConfig;
  siteDb(site: string): SiteDatabase;
  /** Enqueue with deduplicate: resolves to undefined when a job with that id is queued or running. */
  enqueue(method: string, options: EnqueueOptions): Promise<string | undefined>;
  /** Who is ticking ("host:pid"), written in each log row. */
  name: string;
}

export interface TickResult {
  enqueued: number;
  skipped: number;
  sitesSkipped: string[];
  failedSites: string[];
}

/** Why the scheduler skips a site, if it does: Frappe's pause_scheduler, disable_scheduler, maintenance_mode. */
export function inactiveReason(site: SiteConfig): 'paused' | 'disabled' | 'maintenance' | undefined {
  const on = (value: unknown) => value === true || value === 1;
  if (on(site.settings.maintenance_mode)) return 'maintenance';
  if (on(site.settings.disable_scheduler)) return 'disabled';
  if (on(site.settings.pause_scheduler)) return 'paused';
  return undefined;
}

/** Thrown inside a tick when the lease can no longer be proven held: the tick stops there. */
class LeaseNotHeld extends BenchError {
  constructor() {
    super('ERR_LEASE_LOST', 'the scheduler lease is no longer held: tick stopped');
  }
}

const reportedProblems = new Map<string, string>();
/** How often a site's old scheduled_job_log rows are deleted at most. */
export const LOG_PRUNE_EVERY_MS = 3_600_000;
/** When each site's log was last pruned (by database), in this process. */
const lastPruned = new Map<string, number>();

/** Run one tick at `tickMs` (a tick boundary); `fence()` must hold before each enqueue. */
export async function runTick(env: SchedulerEnv, tickMs: number, fence: () => boolean): Promise<TickResult> {
  const bench = env.bench();
  const result: TickResult = { enqueued: 0, skipped: 0, sitesSkipped: [], failedSites: [] };
  for (const site of shuffle(listSites(bench))) {
    if (!fence()) throw new LeaseNotHeld();
    try {
      const config = env.siteConfig(site);
      const reason = inactiveReason(config);
      if (reason !== undefined) {
        result.sitesSkipped.push(site);
        continue;
      }
      await tickSite(env, config, tickMs, fence, result);
    } catch (err) {
      if (err instanceof LeaseNotHeld) throw err;
      result.failedSites.push(site);
      env.log.error({ err, site }, 'scheduler tick failed for a site');
    }
  }
  return result;
}

async function tickSite(env: SchedulerEnv, site: SiteConfig, tickMs: number, fence: () => boolean, result: TickResult): Promise<void> {
  const bench = env.bench();
  const intervalMs = bench.settings.scheduler_tick_interval * 1000;
  const tz = site.settings.time_zone;
  const events = await siteEvents(bench, site);
  reportProblems(env.log, site.site, events.problems);
  const db = env.siteDb(site.site);
  const next = (type: Pick<ScheduledJobType, 'event' | 'cron'>, after: number) => nextFire(scheduleOf(type, tz), after, intervalMs);
  const rows = await syncJobTypes(db, events.jobTypes, events.loadedApps, tickMs, next);
  await pruneOldLog(env, db, site);
  for (const type of shuffle(events.jobTypes)) {
    const row = rows.get(type.name);
    if (!row || row.stopped) continue;
    const fire = dueFire(scheduleOf(type, tz), tickMs, intervalMs, row.lastExecution, row.creation);
    if (fire === undefined) continue;
    if (!fence()) throw new LeaseNotHeld();
    const outcome = await enqueueRun(env, db, site.site, type, row, fire, next(type, tickMs));
    if (outcome === 'enqueued') result.enqueued++;
    else if (outcome === 'skipped') result.skipped++;
  }
}

/**
 * Enqueue the run of `type` due at `fire`, unless its previous run is still queued or running (then a
 * Skipped log row) or another scheduler claimed it. Also the path of trigger-scheduler-event (`claim`
 * false: a run by hand moves no schedule).
 */
export async function enqueueRun(
  env: SchedulerEnv,
  db: SiteDatabase,
  site: string,
  type: ScheduledJobType,
  row: JobTypeRow,
  fire: number,
  next: number | undefined,
  options: { claim?: boolean; details?: string } = {},
): Promise<'enqueued' | 'skipped' | 'claimed elsewhere'> {
  const base = { jobType: type.name, method: type.method, scheduledFor: fire, scheduler: env.name };
  if (row.lastJobId !== undefined && row.lastQueue !== undefined) {
    const previous = await previousRunState(env.redis, env.bench().settings.bench_id, row.lastQueue, row.lastJobId);
    if (previous === 'waiting' || previous === 'running') {
      const details = `previous run ${row.lastJobId} is still ${previous === 'waiting' ? 'queued' : 'running'}`;
      await writeLog(db, { ...base, jobId: undefined, status: 'Skipped', details });
      env.log.info({ site, jobType: type.name, previousJobId: row.lastJobId, scheduledFor: new Date(fire).toISOString() }, 'scheduled job skipped: its previous run is still queued or running');
      return 'skipped';
    }
  }
  const jobId = `${site}${SITE_SEPARATOR}${scheduledJobId(type.name, fire)}`;
  if (options.claim !== false && !(await claimRun(db, type.name, fire, next, jobId, type.queue))) return 'claimed elsewhere';
  await writeLog(db, { ...base, jobId, status: 'Queued', ...(options.details === undefined ? {} : { details: options.details }) });
  try {
    await env.enqueue(type.method, { site, queue: type.queue, jobId: jobId.slice(site.length + SITE_SEPARATOR.length), deduplicate: true, event: type.event });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await failQueuedLog(db, jobId, message);
    if (options.claim !== false) await unclaimRun(db, row, jobId);
    env.log.error({ err, site, jobType: type.name, jobId }, 'scheduled job could not be enqueued');
    return 'skipped';
  }
  if (options.claim === false) await rememberRun(db, type.name, jobId, type.queue);
  return 'enqueued';
}

/**
 * Delete the site's scheduled_job_log rows older than scheduler_log_days (0: keep them), at most once an
 * hour per site database in this process. By the wall clock: a tick's time may be a test's chosen one.
 */
async function pruneOldLog(env: SchedulerEnv, db: SiteDatabase, site: SiteConfig): Promise<void> {
  const days = site.settings.scheduler_log_days;
  const now = Date.now();
  const key = `${site.site}\0${db.description}`;
  if (days === 0 || now - (lastPruned.get(key) ?? Number.NEGATIVE_INFINITY) < LOG_PRUNE_EVERY_MS) return;
  lastPruned.set(key, now);
  const deleted = await pruneLog(db, now - days * 86_400_000);
  if (deleted > 0) env.log.info({ site: site.site, deleted, days }, 'old scheduled job log rows deleted');
}

/** Where the previous run is (lua/scheduledRunState-2.lua): only "waiting" and "running" block. */
async function previousRunState(redis: Redis, benchId: string, queue: string, jobId: string): Promise<string> {
  const k = queueKeys(benchId, queue);
  const reply = (await runScript(redis, 'scheduledRunState', [k.job(jobId), k.owners], [])) as [string, string];
  return reply[0];
}

/** Log a site's hooks problems when they change (not every tick). */
function reportProblems(log: Logger, site: string, problems: readonly SchedulerProblem[]): void {
  const text = JSON.stringify(problems);
  if (reportedProblems.get(site) === text) return;
  reportedProblems.set(site, text);
  for (const problem of problems) log.error({ site, ...problem }, 'scheduler event refused');
}

function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
