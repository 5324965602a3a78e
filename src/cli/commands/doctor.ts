// `bench doctor [--site S]`, in Frappe's shape (frappe/utils/doctor.py): "-----Checking scheduler
// status-----" with a line per site whose scheduler is disabled, in maintenance or paused; "Workers
// online: N"; then per queue holding jobs its count and its methods. bench-worker adds, after that, the
// queue table (live workers, queued, scheduled, running, failed per queue), the queued and running jobs
// of each site on each queue (`-----Queues by site-----`; each queue's `bySite` in --json), the
// scheduler lease, and a warning for each other bench namespace on the Redis holding jobs that no live
// worker serves. A line under the queue table names the paused queues (`bench queue pause`), if any.
// Unlike Frappe's (always exit 0), it exits 1 when jobs wait on a queue that no live worker listens to,
// naming the queue; or when the jobs of the id this bench's path gives (the old default) wait while the
// bench uses another id: clearly its own jobs, left behind. Other benches' namespaces only warn.
// --site S limits the site lines and the methods to that site; the rest stays bench-wide.
import { Command } from 'commander';
import { listSites, loadSiteConfig, type BenchConfig } from '../../config/load.js';
import { BenchError } from '../../errors.js';
import { doctorReport, type DoctorReport } from '../../monitor/doctor.js';
import { pendingMethods, type QueueMethods } from '../../monitor/pending-methods.js';
import { pausedQueues } from '../../monitor/pause.js';
import { schedulerHealth, type SchedulerHealth } from '../../scheduler/health.js';
import { BenchClient } from '../../client.js';
import { globals, siteFilter } from '../context.js';
import { siteLoadTable, table } from '../job-format.js';
import { printResult } from '../output.js';
import { checkSiteExists } from '../sites.js';

/** A site's scheduler switches, as doctor reports them. */
export interface SiteSchedulerState {
  site: string;
  scheduler: 'enabled' | 'disabled';
  maintenanceMode: boolean;
  paused: boolean;
}

export function makeDoctorCommand(): Command {
  return new Command('doctor')
    .description('diagnostics as Frappe prints them (scheduler state per site, workers online, queued methods per queue), then the queue table; exit 1 when jobs wait on a queue no live worker serves')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const client = await BenchClient.open({ benchPath: globals(command).benchPath, lazyConnect: true });
      try {
        const site = siteFilter(command);
        if (site !== undefined) checkSiteExists(client.bench, { site, from: '--site' });
        const redis = await client.connection();
        const report = await doctorReport(redis, client.bench);
        const scheduler = await schedulerHealth(redis, client.bench);
        const sites = siteStates(client.bench, site);
        const pending = await pendingMethods(redis, client.bench, site);
        const paused = await pausedQueues(redis, client.bench);
        printResult(
          Boolean(flags.json),
          { ...report, pausedQueues: paused, site: site ?? null, sites, pending, scheduler },
          [formatFrappe(sites, report.workersOnline, pending, site), formatQueues(report, paused), formatScheduler(scheduler)].join('\n'),
        );
        if (report.unserved.length > 0) {
          const waiting = report.queues
            .filter((q) => report.unserved.includes(q.queue))
            .map((q) => `"${q.queue}" (${q.queued} queued)`)
            .join(', ');
          const one = report.unserved.length === 1;
          throw new BenchError(
            'ERR_QUEUE_UNSERVED',
            `jobs wait in queue${one ? '' : 's'} ${waiting} but no live worker listens to ${one ? 'it' : 'them'}: start one (bench worker --queue ${report.unserved.join(',')})`,
            { details: { queues: report.unserved } },
          );
        }
        const own = report.orphaned.find((o) => o.thisBenchPath);
        if (own) {
          throw new BenchError(
            'ERR_BENCH_ORPHANED',
            `${own.jobs} job(s) of this bench wait under its path-derived id "${own.benchId}", but it uses bench_id "${client.bench.settings.bench_id}": set bench_id to "${own.benchId}" in ${client.bench.commonConfigFile} to serve them (or remove them)`,
            { details: { benchId: own.benchId, jobs: own.jobs, currentBenchId: client.bench.settings.bench_id } },
          );
        }
      } finally {
        await client.close();
      }
    });
}

const on = (value: unknown) => value === true || value === 1;

/** The scheduler switches of `site`, or of every site (one whose config cannot be read is left out). */
function siteStates(bench: BenchConfig, site: string | undefined): SiteSchedulerState[] {
  const states: SiteSchedulerState[] = [];
  for (const name of site === undefined ? listSites(bench) : [site]) {
    let settings;
    try {
      settings = loadSiteConfig(bench, name).settings;
    } catch {
      continue;
    }
    states.push({ site: name, scheduler: on(settings.disable_scheduler) ? 'disabled' : 'enabled', maintenanceMode: on(settings.maintenance_mode), paused: on(settings.pause_scheduler) });
  }
  return states;
}

/** Frappe's part: the sites whose scheduler does not run, workers online, queued methods per queue. */
function formatFrappe(sites: readonly SiteSchedulerState[], workersOnline: number, pending: readonly QueueMethods[], site: string | undefined): string {
  const lines = ['-----Checking scheduler status-----'];
  for (const s of sites) {
    if (s.scheduler === 'disabled') lines.push(`Scheduler disabled for ${s.site}`);
    if (s.maintenanceMode) lines.push(`Maintenance mode on for ${s.site}`);
    if (s.paused) lines.push(`Scheduler paused for ${s.site}`);
  }
  lines.push(`Workers online: ${workersOnline}`, site === undefined ? '-----Jobs-----' : `-----${site} Jobs-----`);
  for (const q of pending) {
    lines.push(`Queue: ${q.queue}`, `Number of Jobs: ${q.total}`, q.counted < q.total ? `Methods (of the first ${q.counted} jobs):` : 'Methods:');
    for (const [method, count] of Object.entries(q.methods)) lines.push(`${method} : ${count}`);
    lines.push('------------');
  }
  return lines.join('\n');
}

function formatScheduler(health: SchedulerHealth): string {
  const holder = health.holder === undefined ? 'none: no `bench schedule` holds the lease' : `${health.holder.host} pid ${health.holder.pid}`;
  return [
    '-----Scheduler-----',
    `Holder: ${holder}`,
    `Last tick: ${health.lastTick === undefined ? 'never' : new Date(health.lastTick).toISOString()}`,
    ...health.problems.map((p) => `error: site ${p.site}: app "${p.app}", ${p.expression === undefined ? `event "${p.event}"` : `${p.event} "${p.expression}"`}: ${p.message}`),
  ].join('\n');
}

function formatQueues(report: DoctorReport, paused: readonly string[]): string {
  const rows = report.queues.map((q) => [q.queue, String(q.workers), String(q.queued), String(q.scheduled), String(q.started), String(q.failed)]);
  return [
    '-----Queues-----',
    table(['QUEUE', 'WORKERS', 'QUEUED', 'SCHEDULED', 'RUNNING', 'FAILED'], rows),
    ...(paused.length > 0 ? [`Paused (workers claim nothing from them; bench queue resume QUEUE): ${paused.join(', ')}`] : []),
    '-----Queues by site-----',
    siteLoadTable(report.queues),
    ...report.orphaned.map(
      (o) =>
        `warning: bench namespace "${o.benchId}" on this Redis holds ${o.jobs} queued/scheduled/running job(s) and no live worker` +
        (o.thisBenchPath ? " (this bench's path-derived id: its jobs from before bench_id was saved)" : ' (another bench, stopped; or this one before it moved: then set its bench_id)'),
    ),
  ].join('\n');
}
