// `bench new-site NAME`: make a site (its folder, its site_config.json and its database).
import { Command, Option } from 'commander';
import { createSite } from '../../bench/scaffold.js';
import { findBenchPath } from '../../config/load.js';
import { globals } from '../context.js';
import { printResult } from '../output.js';

export function makeNewSiteCommand(): Command {
  return new Command('new-site')
    .description('make a site: sites/NAME/site_config.json and its database (SQLite sites/NAME/site.db unless --db-type postgres)')
    .argument('<name>', 'site name, e.g. site1.localhost')
    .addOption(new Option('--db-type <type>', 'database of the site (db_type)').choices(['sqlite', 'postgres']))
    .option('--db-url <url>', 'PostgreSQL URL (db_url), with --db-type postgres')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { dbType?: 'sqlite' | 'postgres'; dbUrl?: string; json?: boolean }, command: Command) => {
      const benchPath = findBenchPath(globals(command).benchPath);
      const database = await createSite(benchPath, name, { dbType: flags.dbType, dbUrl: flags.dbUrl });
      printResult(Boolean(flags.json), { site: name, database }, `site ${name} created (database: ${database})`);
    });
}
