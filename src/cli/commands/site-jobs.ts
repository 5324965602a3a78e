// Frappe's site-scoped job commands, in Frappe's output shape (frappe/commands/scheduler.py,
// frappe/utils/doctor.py): `bench --site S show-pending-jobs` (a "-----Queue :q-----" header per queue
// holding jobs, then one `method kwargs` line per job) and `ready-for-migration` (the verdict on
// stdout; exit 1 when the site has queued, scheduled or running jobs). Both take `--site all`: each
// site in turn, under a "Site S" line. `purge-jobs` is in purge-jobs.ts.
import { Command } from 'commander';
import type { BenchClient } from '../../client.js';
import { pendingJobs, siteJobCounts, type SiteJobCounts } from '../../monitor/jobs.js';
import { numberFlag, withSitesClient } from '../context.js';
import { LIST_LIMIT_RANGE } from '../../util/limits.js';
import { moreLine } from '../job-format.js';
import { ExitStatus, printResult } from '../output.js';

/** Jobs show-pending-jobs prints per queue unless told otherwise (the counts are always whole). */
export const DEFAULT_PENDING_LIMIT = 100;

interface PendingEntry {
  id: string;
  method: string;
  jobName: string;
  kwargs: unknown;
  createdAt: number;
}

interface SitePending {
  site: string;
  limit: number;
  queues: Record<string, PendingEntry[]>;
  totals: Record<string, number>;
}

/** Frappe's line of one pending job: the method, then its kwargs (JSON here; none when empty). */
export function pendingLine(method: string, kwargs: unknown): string {
  const empty = kwargs === undefined || kwargs === null || (typeof kwargs === 'object' && Object.keys(kwargs).length === 0);
  return empty ? method : `${method} ${JSON.stringify(kwargs)}`;
}

async function sitePending(client: BenchClient, site: string, limit: number): Promise<{ json: SitePending; lines: string[] }> {
  const byQueue = await pendingJobs(await client.connection(), client.bench, site, limit);
  const json: SitePending = { site, limit, queues: {}, totals: {} };
  const lines: string[] = [];
  for (const [queue, { jobs, total }] of Object.entries(byQueue)) {
    json.queues[queue] = jobs.map((job) => ({ id: job.id, method: job.method, jobName: job.jobName, kwargs: job.kwargs, createdAt: job.createdAt }));
    json.totals[queue] = total;
    if (total === 0) continue;
    lines.push(`-----Queue :${queue}-----`);
    for (const job of jobs) lines.push(pendingLine(job.method, job.kwargs));
    if (total > jobs.length) lines.push(moreLine(total - jobs.length, '--limit'));
  }
  return { json, lines };
}

export function makeShowPendingJobsCommand(): Command {
  return new Command('show-pending-jobs')
    .description('the queued jobs of the site (or of --site all), per queue, as Frappe prints them: `method kwargs` lines (the first --limit of each queue)')
    .option('--limit <n>', 'most jobs to show per queue', numberFlag('--limit', LIST_LIMIT_RANGE), DEFAULT_PENDING_LIMIT)
    .option('--json', 'print JSON (ids, methods, kwargs, created times and the whole count of each queue)')
    .action(async (flags: { limit: number; json?: boolean }, command: Command) => {
      await withSitesClient(command, undefined, async (client, sites) => {
        const results: SitePending[] = [];
        const lines = ['-----Pending Jobs-----'];
        for (const site of sites) {
          const { json, lines: siteLines } = await sitePending(client, site, flags.limit);
          results.push(json);
          if (sites.length > 1) lines.push(`Site ${site}`);
          lines.push(...siteLines);
        }
        printResult(Boolean(flags.json), sites.length === 1 ? results[0] : { sites: results }, lines.join('\n'));
      });
    });
}

export function makeReadyForMigrationCommand(): Command {
  return new Command('ready-for-migration')
    .description('print whether the site (or each of --site all) is READY for migration: exit 0 when it has no queued, scheduled or running jobs, else 1')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withSitesClient(command, undefined, async (client, sites) => {
        const verdicts: (SiteJobCounts & { site: string; ready: boolean })[] = [];
        for (const site of sites) {
          const counts = await siteJobCounts(await client.connection(), client.bench, site);
          verdicts.push({ site, ready: counts.queued + counts.scheduled + counts.started === 0, ...counts });
        }
        const lines = verdicts.map((v) =>
          v.ready
            ? `READY for migration: site ${v.site} does not have any background jobs`
            : `NOT READY for migration: site ${v.site} has pending background jobs (${v.queued} queued, ${v.scheduled} scheduled, ${v.started} running)`,
        );
        printResult(Boolean(flags.json), sites.length === 1 ? verdicts[0] : { ready: verdicts.every((v) => v.ready), sites: verdicts }, lines.join('\n'));
        if (!verdicts.every((v) => v.ready)) throw new ExitStatus(1);
      });
    });
}
