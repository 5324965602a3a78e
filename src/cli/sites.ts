// Which site(s) a command works on, as Frappe's bench chooses them. An explicit --site wins ("all":
// every site of the bench, for the commands that take it). Without one, a site-scoped command takes, in
// this order: the FRAPPE_SITE (or BENCH_SITE) environment variable, sites/currentsite.txt, then the
// default_site key of common_site_config.json. A name that is not a site of the bench is an error
// naming where it came from. Commands where --site only filters (doctor, purge-jobs, jobs ...) use
// the explicit --site alone: an environment variable never narrows or widens them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkSiteName, listSites, type BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import { quoted } from '../util/text.js';

/** The --site value meaning every site of the bench. */
export const ALL_SITES = 'all';

/** Environment variables naming the default site, in the order they are read. */
export const SITE_ENV_VARS = ['FRAPPE_SITE', 'BENCH_SITE'] as const;

export interface SiteChoice {
  site: string;
  /** Where the name came from, for messages: "--site", "FRAPPE_SITE", "sites/currentsite.txt", ... */
  from: string;
}

/** The site a site-scoped command uses when --site is not given, with its source; undefined when nothing names one. */
export function defaultSite(bench: BenchConfig, env: NodeJS.ProcessEnv = process.env): SiteChoice | undefined {
  for (const name of SITE_ENV_VARS) {
    const value = env[name]?.trim();
    if (value) return { site: value, from: `the ${name} environment variable` };
  }
  const current = readCurrentSite(bench);
  if (current) return { site: current, from: 'sites/currentsite.txt' };
  const configured = bench.common['default_site'];
  if (typeof configured === 'string' && configured.trim() !== '') {
    return { site: configured.trim(), from: `default_site in ${bench.commonConfigFile}` };
  }
  return undefined;
}

function readCurrentSite(bench: BenchConfig): string | undefined {
  try {
    return readFileSync(path.join(bench.sitesDir, 'currentsite.txt'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The one site of a site-scoped command: --site, else the default site. No site at all is a usage
 * error (exit 2), and so is "all" (this command works on one site: chooseSites is for those that
 * take it); a name that is not a site of the bench is ERR_SITE_NOT_FOUND naming its source.
 */
export function chooseSite(bench: BenchConfig, explicit: string | undefined, command: string): SiteChoice {
  if (explicit === ALL_SITES) {
    throw new BenchError('ERR_USAGE', `${command} works on one site: --site all is not accepted here; give one site (bench --site SITE ${command} ...)`, { exitCode: 2 });
  }
  const choice = explicit !== undefined ? { site: explicit, from: '--site' } : defaultSite(bench);
  if (choice === undefined) {
    throw new BenchError(
      'ERR_USAGE',
      `${command} needs a site: bench --site SITE ${command} ..., or set ${SITE_ENV_VARS.join(' / ')}, sites/currentsite.txt or default_site (sites of this bench: ${listSites(bench).join(', ') || 'none'})`,
      { exitCode: 2 },
    );
  }
  return checkSiteExists(bench, choice);
}

/** Every site of a command that takes --site all: all of them for "all", else the one of chooseSite. */
export function chooseSites(bench: BenchConfig, explicit: string | undefined, command: string): SiteChoice[] {
  if (explicit !== ALL_SITES) return [chooseSite(bench, explicit, command)];
  const sites = listSites(bench);
  if (sites.length === 0) throw new BenchError('ERR_SITE_NOT_FOUND', `--site all: ${bench.sitesDir} holds no site (a folder with a site_config.json)`);
  return sites.map((site) => ({ site, from: '--site all' }));
}

/** `choice` when its site is a site of the bench; else ERR_SITE_NOT_FOUND saying where the name came from. */
export function checkSiteExists(bench: BenchConfig, choice: SiteChoice): SiteChoice {
  const sites = listSites(bench);
  if (sites.includes(choice.site)) return choice;
  try {
    checkSiteName(choice.site);
  } catch (err) {
    if (choice.from === '--site') throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new BenchError('ERR_SITE_NOT_FOUND', `${message} (from ${choice.from})`, { details: { site: choice.site, from: choice.from } });
  }
  const file = path.join(bench.sitesDir, choice.site, 'site_config.json');
  throw new BenchError(
    'ERR_SITE_NOT_FOUND',
    `site ${quoted(choice.site)} (from ${choice.from}) not found: ${file} does not exist (sites: ${sites.join(', ') || 'none'})`,
    { details: { site: choice.site, from: choice.from, availableSites: sites } },
  );
}
