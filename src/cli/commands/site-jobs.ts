// Frappe's site-scoped job commands: `bench --site S show-pending-jobs`, `purge-jobs` and
// `ready-for-migration` (frappe/commands/scheduler.py, frappe/utils/doctor.py).
import { Command } from 'commander';
import { BenchError } from '../../errors.js';
import { pendingJobs, siteJobCounts } from '../../monitor/jobs.js';
import { numberFlag, withSiteClient } from '../context.js';
import { LIST_LIMIT_RANGE } from '../../util/limits.js';
import { moreLine, time } from '../job-format.js';
import { printResult } from '../output.js';

/** Jobs show-pending-jobs prints per queue unless told otherwise (the counts are always whole). */
export const DEFAULT_PENDING_LIMIT = 100;

export function makeShowPendingJobsCommand(): Command {
  return new Command('show-pending-jobs')
    .description('the queued jobs of --site, per queue (method, id, created), the first --limit of each, and how many there are')
    .option('--limit <n>', 'most jobs to show per queue', numberFlag('--limit', LIST_LIMIT_RANGE), DEFAULT_PENDING_LIMIT)
    .option('--json', 'print JSON')
    .action(async (flags: { limit: number; json?: boolean }, command: Command) => {
      await withSiteClient(command, undefined, async (client, site) => {
        const byQueue = await pendingJobs(await client.connection(), client.bench, site, flags.limit);
        const json: Record<string, { id: string; method: string; jobName: string; createdAt: number }[]> = {};
        const totals: Record<string, number> = {};
        const lines = ['-----Pending Jobs-----'];
        for (const [queue, { jobs, total }] of Object.entries(byQueue)) {
          json[queue] = jobs.map((job) => ({ id: job.id, method: job.method, jobName: job.jobName, createdAt: job.createdAt }));
          totals[queue] = total;
          lines.push(`${queue}: ${total}`);
          for (const job of jobs) lines.push(`  ${job.method}  ${job.id}  ${time(job.createdAt)}`);
          if (total > jobs.length) lines.push(`  ${moreLine(total - jobs.length, '--limit')}`);
        }
        printResult(Boolean(flags.json), { site, limit: flags.limit, queues: json, totals }, lines.join('\n'));
      });
    });
}

export function makePurgeJobsCommand(): Command {
  return new Command('purge-jobs')
    .description('delete the queued jobs of --site (of one queue, with one event)')
    .option('-q, --queue <queue>', 'only this queue')
    .option('-e, --event <event>', 'only jobs whose event is this')
    .option('--json', 'print JSON')
    .action(async (flags: { queue?: string; event?: string; json?: boolean }, command: Command) => {
      await withSiteClient(command, flags.queue, async (client, site) => {
        const count = await client.purgeJobs(site, {
          ...(flags.queue !== undefined && { queue: flags.queue }),
          ...(flags.event !== undefined && { event: flags.event }),
        });
        printResult(Boolean(flags.json), { site, queue: flags.queue ?? null, event: flags.event ?? null, count }, `purged ${count} queued job${count === 1 ? '' : 's'} of ${site}`);
      });
    });
}

export function makeReadyForMigrationCommand(): Command {
  return new Command('ready-for-migration')
    .description('exit 1 when --site has pending jobs (queued, scheduled or running), else 0')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withSiteClient(command, undefined, async (client, site) => {
        const counts = await siteJobCounts(await client.connection(), client.bench, site);
        if (counts.queued + counts.scheduled + counts.started > 0) {
          throw new BenchError(
            'ERR_JOBS_PENDING',
            `NOT READY for migration: site ${site} has pending background jobs (${counts.queued} queued, ${counts.scheduled} scheduled, ${counts.started} running)`,
            { details: { site, ...counts } },
          );
        }
        printResult(Boolean(flags.json), { site, ready: true, ...counts }, `READY for migration: site ${site} has no pending background jobs`);
      });
    });
}
