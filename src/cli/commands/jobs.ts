// `bench jobs list|show|retry|delete|cancel|requeue-failed|workers|counts`: Frappe's RQ Job list and its
// actions, plus requeue of failed jobs, the RQ Worker list, and the queued and running jobs of each queue
// and of each site on it (`counts`, also what a bare `bench jobs` prints). --site filters lists and lets
// ids be given without their "SITE||".
import { Command } from 'commander';
import { BenchError } from '../../errors.js';
import { requireJob } from '../../monitor/actions.js';
import { resolveJobRef } from '../../monitor/prefix.js';
import { DEFAULT_LIST_LIMIT, LISTABLE_STATUSES, type ListableStatus } from '../../monitor/jobs.js';
import { queueLoads } from '../../monitor/site-load.js';
import type { BenchClient } from '../../client.js';
import type { JobRecord } from '../../vocabulary.js';
import { LIST_LIMIT_RANGE, LIST_OFFSET_RANGE } from '../../util/limits.js';
import { numberFlag, withClient } from '../context.js';
import { jobDetails, jobTable, moreLine, siteLoadTable, table, workerTable } from '../job-format.js';
import { printResult } from '../output.js';

interface QueueFlags {
  queue?: string;
  json?: boolean;
}

interface ListFlags extends QueueFlags {
  status: ListableStatus;
  limit: number;
  offset: number;
}

export function makeJobsCommand(): Command {
  const jobs = new Command('jobs').description("list, show and act on jobs (Frappe's RQ Job): list, show, retry, delete, cancel, requeue-failed; workers; counts (the default)");
  for (const sub of [listCommand(), showCommand(), ...actionCommands(), requeueFailedCommand(), workersCommand()]) jobs.addCommand(sub.exitOverride());
  jobs.addCommand(countsCommand().exitOverride(), { isDefault: true });
  return jobs;
}

function queueOption(what: string): [string, string] {
  return ['-q, --queue <queue>', what];
}

function parseStatus(value: string): ListableStatus {
  if ((LISTABLE_STATUSES as readonly string[]).includes(value)) return value as ListableStatus;
  throw new BenchError('ERR_USAGE', `--status must be one of ${LISTABLE_STATUSES.join(', ')}, found "${value}"`, { exitCode: 2 });
}

function listCommand(): Command {
  return new Command('list')
    .description('jobs with one status, of --site and --queue when given; newest first for finished, failed and stopped')
    .option(...queueOption('only this queue'))
    .option('-s, --status <status>', `${LISTABLE_STATUSES.join(' | ')}`, parseStatus, 'queued')
    .option('--limit <n>', 'most jobs to show', numberFlag('--limit', LIST_LIMIT_RANGE), DEFAULT_LIST_LIMIT)
    .option('--offset <n>', 'jobs to skip', numberFlag('--offset', LIST_OFFSET_RANGE), 0)
    .option('--json', 'print JSON')
    .action(async (flags: ListFlags, command: Command) => {
      await withClient(command, flags.queue, async (client, site) => {
        const page = await client.listJobs({ site, queue: flags.queue, status: flags.status, offset: flags.offset, limit: flags.limit });
        const scope = `${site ? ` of ${site}` : ''}${flags.queue ? ` on ${flags.queue}` : ''}`;
        const plain =
          page.total === 0
            ? `no ${flags.status} jobs${scope}`
            : page.jobs.length === 0
              ? `no ${flags.status} jobs${scope} past offset ${page.offset} (${page.total} in all)`
              : [
                  jobTable(page.jobs, flags.status),
                  `${page.offset + 1}-${page.offset + page.jobs.length} of ${page.total} ${flags.status} jobs${scope}`,
                  ...(page.total > page.offset + page.jobs.length ? [moreLine(page.total - page.offset - page.jobs.length, '--limit or --offset')] : []),
                ].join('\n');
        printResult(Boolean(flags.json), page, plain);
      });
    });
}

function showCommand(): Command {
  return new Command('show')
    .description('the full record of a job: arguments, status, times, result or error with its stack')
    .argument('<job-id>', 'the job id, or a unique prefix of it (at least 4 characters; without "SITE||" when --site is given)')
    .option(...queueOption('the queue, when the id is on several'))
    .option('--json', 'print JSON')
    .action(async (jobId: string, flags: QueueFlags, command: Command) => {
      await withClient(command, flags.queue, async (client, site) => {
        const match = await resolveJobRef(await client.connection(), client.bench, site, jobId, flags.queue);
        const job = await requireJob(await client.connection(), client.bench, match.id, match.queue);
        printResult(Boolean(flags.json), job, jobDetails(job));
      });
    });
}

type Action = (client: BenchClient, site: string | undefined, jobId: string, queue: string | undefined) => Promise<JobRecord>;

function actionCommands(): Command[] {
  const specs: [string, string, Action, (job: JobRecord) => string][] = [
    ['retry', 'put a failed or stopped job back on its queue (status queued)', (c, s, id, q) => c.retryJob(s, id, { queue: q }), (j) => j.status],
    ['delete', 'delete a job that is not running (stop it first)', (c, s, id, q) => c.deleteJob(s, id, { queue: q }), () => 'deleted'],
    ['cancel', 'cancel a queued or scheduled job (kept as canceled for rq_job_failure_ttl)', (c, s, id, q) => c.cancelJob(s, id, { queue: q }), (j) => j.status],
  ];
  return specs.map(([name, description, action, outcome]) =>
    new Command(name)
      .description(description)
      .argument('<job-id>', 'the job id, or a unique prefix of it (at least 4 characters; without "SITE||" when --site is given)')
      .option(...queueOption('the queue, when the id is on several'))
      .option('--json', 'print JSON')
      .action(async (jobId: string, flags: QueueFlags, command: Command) => {
        await withClient(command, flags.queue, async (client, site) => {
          const match = await resolveJobRef(await client.connection(), client.bench, site, jobId, flags.queue);
          const job = await action(client, site, match.id, match.queue);
          printResult(Boolean(flags.json), { id: job.id, queue: job.queue, status: outcome(job) }, `${job.id} ${outcome(job)}`);
        });
      }),
  );
}

function requeueFailedCommand(): Command {
  return new Command('requeue-failed')
    .description('put every failed job (of --site, of --queue) back on its queue; stopped jobs stay')
    .option(...queueOption('only this queue'))
    .option('--json', 'print JSON')
    .action(async (flags: QueueFlags, command: Command) => {
      await withClient(command, flags.queue, async (client, site) => {
        const count = await client.requeueFailed({ site, queue: flags.queue });
        printResult(Boolean(flags.json), { site: site ?? null, queue: flags.queue ?? null, count }, `requeued ${count} failed job${count === 1 ? '' : 's'}`);
      });
    });
}

function workersCommand(): Command {
  return new Command('workers')
    .description("the live worker processes (Frappe's RQ Worker): queues, state, running jobs, counts and utilization")
    .option(...queueOption('only workers listening to this queue'))
    .option('--json', 'print JSON')
    .action(async (flags: QueueFlags, command: Command) => {
      await withClient(command, flags.queue, async (client) => {
        const workers = await client.getWorkers(flags.queue);
        const plain = workers.length === 0 ? `no live workers${flags.queue ? ` on ${flags.queue}` : ''}` : workerTable(workers);
        printResult(Boolean(flags.json), workers, plain);
      });
    });
}

function countsCommand(): Command {
  return new Command('counts')
    .description('queued and running jobs of each queue, and of each site on it (of --site only, when given; the queue totals stay whole)')
    .option(...queueOption('only this queue'))
    .option('--json', 'print JSON')
    .action(async (flags: QueueFlags, command: Command) => {
      await withClient(command, flags.queue, async (client, site) => {
        const queues = await queueLoads(await client.connection(), client.bench, { queue: flags.queue, site });
        const plain = [
          table(['QUEUE', 'QUEUED', 'RUNNING'], queues.map((q) => [q.queue, String(q.queued), String(q.started)])),
          site === undefined ? '-----By site-----' : `-----${site}-----`,
          siteLoadTable(queues),
        ].join('\n');
        printResult(Boolean(flags.json), { site: site ?? null, queues }, plain);
      });
    });
}
