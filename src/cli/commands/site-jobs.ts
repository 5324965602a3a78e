// Frappe's site-scoped job commands: `bench --site S show-pending-jobs`, `purge-jobs` and
// `ready-for-migration` (frappe/commands/scheduler.py, frappe/utils/doctor.py).
import { Command } from 'commander';
import { BenchError } from '../../errors.js';
import { pendingJobs, siteJobCounts } from '../../monitor/jobs.js';
import { withSiteClient } from '../context.js';
import { time } from '../job-format.js';
import { printResult } from '../output.js';

export function makeShowPendingJobsCommand(): Command {
  return new Command('show-pending-jobs')
    .description('the queued jobs of --site, per queue (method, id, created)')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withSiteClient(command, undefined, async (client, site) => {
        const byQueue = await pendingJobs(await client.connection(), client.bench, site);
        const json: Record<string, { id: string; method: string; jobName: string; createdAt: number }[]> = {};
        const lines = ['-----Pending Jobs-----'];
        for (const [queue, jobs] of Object.entries(byQueue)) {
          json[queue] = jobs.map((job) => ({ id: job.id, method: job.method, jobName: job.jobName, createdAt: job.createdAt }));
          lines.push(`${queue}: ${jobs.length}`);
          for (const job of jobs) lines.push(`  ${job.method}  ${job.id}  ${time(job.createdAt)}`);
        }
        printResult(Boolean(flags.json), { site, queues: json }, lines.join('\n'));
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
