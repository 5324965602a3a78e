// Frappe's scheduler commands for one site: `bench --site S scheduler enable|disable|pause|resume|
// status|list`, `enable-scheduler`, `disable-scheduler` and `trigger-scheduler-event EVENT`. The
// switches are keys of the site's site_config.json (disable_scheduler, pause_scheduler). The switches,
// status and trigger-scheduler-event take --site all (each site in turn); list takes one site.
import { Command, Option } from 'commander';
import { BenchError, isBenchError } from '../../errors.js';
import type { SchedulerAction, SchedulerStatus } from '../../scheduler/status.js';
import { withSiteClient, withSitesClient } from '../context.js';
import { table, time } from '../job-format.js';
import { printResult } from '../output.js';

const DONE: Record<SchedulerAction, string> = { enable: 'enabled', disable: 'disabled', pause: 'paused', resume: 'resumed' };

function switchCommand(name: string, action: SchedulerAction, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withSitesClient(command, undefined, async (client, sites) => {
        for (const site of sites) client.setScheduler(site, action);
        const results = sites.map((site) => ({ site, action, status: DONE[action] }));
        printResult(Boolean(flags.json), results.length === 1 ? results[0] : results, sites.map((site) => `Scheduler ${DONE[action]} for site ${site}`).join('\n'));
      });
    });
}

export function makeSchedulerCommand(): Command {
  const scheduler = new Command('scheduler').description("a site's scheduler: enable, disable, pause, resume, status, list");
  for (const action of ['enable', 'disable', 'pause', 'resume'] as const) {
    scheduler.addCommand(switchCommand(action, action, `${action} the scheduler for --site (site_config.json)`).exitOverride());
  }
  scheduler.addCommand(
    new Command('status')
      .description('is the scheduler on for --site, who holds the scheduler lease, and its last tick')
      .option('--json', 'print JSON')
      .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
      .action(async (flags: { json?: boolean; format: string }, command: Command) => {
        await withSitesClient(command, undefined, async (client, sites) => {
          const statuses: SchedulerStatus[] = [];
          for (const site of sites) statuses.push(await client.schedulerStatus(site));
          printResult(Boolean(flags.json) || flags.format === 'json', statuses.length === 1 ? statuses[0] : statuses, statuses.map(formatStatus).join('\n'));
        });
      })
      .exitOverride(),
  );
  scheduler.addCommand(
    new Command('list')
      .description('every scheduled method of --site with its last and next run')
      .option('--json', 'print JSON')
      .action(async (flags: { json?: boolean }, command: Command) => {
        await withSiteClient(command, undefined, async (client, site) => {
          const status = await client.schedulerStatus(site);
          const rows = status.methods.map((m) => [m.frequency, m.cron, m.method, m.queue, m.lastExecution === undefined ? '-' : time(m.lastExecution), m.nextExecution === undefined ? '-' : time(m.nextExecution)]);
          printResult(Boolean(flags.json), { site, methods: status.methods, problems: status.problems }, [table(['EVENT', 'SCHEDULE', 'METHOD', 'QUEUE', 'LAST RUN', 'NEXT RUN'], rows), ...problemLines(status)].join('\n'));
        });
      })
      .exitOverride(),
  );
  return scheduler;
}

export function makeEnableSchedulerCommand(): Command {
  return switchCommand('enable-scheduler', 'enable', 'enable the scheduler for --site (disable_scheduler: 0)');
}

export function makeDisableSchedulerCommand(): Command {
  return switchCommand('disable-scheduler', 'disable', 'disable the scheduler for --site (disable_scheduler: 1)');
}

export function makeTriggerSchedulerEventCommand(): Command {
  return new Command('trigger-scheduler-event')
    .description('enqueue now every method of a scheduler event (all, hourly, daily_long, cron, or a cron expression) on --site')
    .argument('<event>', 'scheduler event')
    .option('--json', 'print JSON')
    .action(async (event: string, flags: { json?: boolean }, command: Command) => {
      await withSitesClient(command, undefined, async (client, sites) => {
        const results = [];
        const lines: string[] = [];
        const failures: { site: string; error: unknown }[] = [];
        for (const site of sites) {
          // With --site all, a site without the event (or with a broken database) does not stop the others.
          let result: Awaited<ReturnType<typeof client.triggerSchedulerEvent>>;
          try {
            result = await client.triggerSchedulerEvent(site, event);
          } catch (error) {
            if (sites.length === 1) throw error;
            failures.push({ site, error });
            continue;
          }
          results.push(result);
          if (sites.length > 1) lines.push(`Site ${site}`);
          lines.push(...result.enqueued.map((m) => `enqueued ${m}`), ...result.skipped.map((m) => `skipped ${m} (its previous run is still queued or running)`));
        }
        printResult(Boolean(flags.json), results.length === 1 && sites.length === 1 ? results[0] : results, lines.join('\n'));
        if (failures.length > 0) throw sitesFailed(failures, sites.length);
      });
    });
}

function formatStatus(status: SchedulerStatus): string {
  const holder = status.holder === undefined ? 'none (no `bench schedule` holds the lease)' : `${status.holder.host} pid ${status.holder.pid}`;
  return [
    `Scheduler is ${status.status} for site ${status.site}`,
    `Holder: ${holder}`,
    `Last tick: ${status.lastTick === undefined ? 'never' : time(status.lastTick)}`,
    `Time zone: ${status.timeZone}`,
    ...problemLines(status),
  ].join('\n');
}

function problemLines(status: SchedulerStatus): string[] {
  return status.problems.map((p) => `error: app "${p.app}", ${p.expression === undefined ? `event "${p.event}"` : `${p.event} "${p.expression}"`}: ${p.message}`);
}

/** The error of a --site all run where some sites failed: each site and why; the first failure's code and exit code. */
function sitesFailed(failures: readonly { site: string; error: unknown }[], total: number): BenchError {
  const first = failures[0]?.error;
  const reasons = failures.map(({ site, error }) => `site ${site}: ${error instanceof Error ? error.message : String(error)}`).join('; ');
  return new BenchError(isBenchError(first) ? first.code : 'ERR_USAGE', `trigger-scheduler-event failed on ${failures.length} of ${total} sites: ${reasons}`, {
    exitCode: isBenchError(first) ? first.exitCode : 1,
    details: { sites: failures.map((f) => f.site) },
  });
}
