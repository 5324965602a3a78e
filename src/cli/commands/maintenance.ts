// `bench --site S set-maintenance-mode on|off`, as Frappe's: writes maintenance_mode (1 or 0, as
// Frappe writes it) in the site's site_config.json, keeping its other keys. A site in maintenance runs
// no scheduled events (the scheduler skips it: `bench doctor` says "Maintenance mode on for S"); jobs
// already queued for it, or enqueued meanwhile, still run. Takes --site all.
import { Command, Argument } from 'commander';
import { updateSiteConfig } from '../../config/update.js';
import { withSitesClient } from '../context.js';
import { printResult } from '../output.js';

export function makeSetMaintenanceModeCommand(): Command {
  return new Command('set-maintenance-mode')
    .description("put the site in maintenance (on) or take it out (off): maintenance_mode in its site_config.json; the scheduler skips a site in maintenance, its queued jobs still run")
    .addArgument(new Argument('<state>', 'on or off').choices(['on', 'off']))
    .option('--json', 'print JSON')
    .action(async (state: 'on' | 'off', flags: { json?: boolean }, command: Command) => {
      await withSitesClient(command, undefined, async (client, sites) => {
        for (const site of sites) updateSiteConfig(client.siteConfig(site), { maintenance_mode: state === 'on' ? 1 : 0 });
        printResult(
          Boolean(flags.json),
          sites.map((site) => ({ site, maintenanceMode: state === 'on' })),
          sites.map((site) => `Maintenance mode ${state} for ${site}`).join('\n'),
        );
      });
    });
}
