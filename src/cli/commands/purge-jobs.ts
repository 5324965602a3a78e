// `bench [--site S] purge-jobs [--queue Q] [--event E] [--yes]`, as Frappe's (frappe/utils/doctor.py
// purge_pending_jobs): with --site, the queued jobs of that site (or of every site, --site all); without
// it, the queued jobs of every site, whole queues when no --event is given. Those two ask first (--yes
// answers; without a terminal and --yes nothing is deleted). Only the explicit --site counts here: a
// FRAPPE_SITE or default_site never narrows (nor widens) a purge.
import { Command } from 'commander';
import { getQueueSpec } from '../../config/load.js';
import { ALL_SITES, chooseSites } from '../sites.js';
import { benchFrom, globals, withClient } from '../context.js';
import { confirm } from '../confirm.js';
import { printResult } from '../output.js';

interface PurgeFlags {
  queue?: string;
  event?: string;
  yes?: boolean;
  json?: boolean;
}

const plural = (n: number) => `${n} queued job${n === 1 ? '' : 's'}`;

export function makePurgeJobsCommand(): Command {
  return new Command('purge-jobs')
    .description('delete queued jobs: those of --site (of one --queue, with one --event); without --site (or with --site all) those of every site, after a confirmation')
    .option('-q, --queue <queue>', 'only this queue')
    .option('-e, --event <event>', 'only jobs whose event is this')
    .option('-y, --yes', 'do not ask before purging every site')
    .option('--json', 'print JSON')
    .action(async (flags: PurgeFlags, command: Command) => {
      const explicit = globals(command).site;
      const bench = benchFrom(command);
      if (flags.queue !== undefined) getQueueSpec(bench, flags.queue);
      const filter = { ...(flags.queue !== undefined && { queue: flags.queue }), ...(flags.event !== undefined && { event: flags.event }) };
      const scope = `${flags.queue === undefined ? 'every queue' : `queue ${flags.queue}`}${flags.event === undefined ? '' : `, event ${flags.event}`}`;
      if (explicit === undefined) {
        await confirm(`delete the queued jobs of every site (${scope})`, Boolean(flags.yes), 'purge-jobs');
        await withClient(command, undefined, async (client) => {
          const count = await client.purgeEverySite(filter);
          printResult(Boolean(flags.json), { site: null, queue: flags.queue ?? null, event: flags.event ?? null, count }, `purged ${plural(count)} of every site`);
        });
        return;
      }
      const sites = chooseSites(bench, explicit, 'purge-jobs').map((c) => c.site);
      if (explicit === ALL_SITES) await confirm(`delete the queued jobs of all ${sites.length} sites (${scope})`, Boolean(flags.yes), 'purge-jobs');
      await withClient(command, undefined, async (client) => {
        const counts: { site: string; count: number }[] = [];
        for (const site of sites) counts.push({ site, count: await client.purgeJobs(site, filter) });
        const lines = counts.map(({ site, count }) => `purged ${plural(count)} of ${site}`);
        const base = { queue: flags.queue ?? null, event: flags.event ?? null };
        printResult(Boolean(flags.json), sites.length === 1 && explicit !== ALL_SITES ? { site: counts[0]?.site, ...base, count: counts[0]?.count ?? 0 } : { ...base, sites: counts }, lines.join('\n'));
      });
    });
}
