// What every command needs from the global options: the bench (found from --bench-path or the
// current folder), its loaded config, its site(s) when the command is site-scoped (sites.ts: --site,
// FRAPPE_SITE, currentsite.txt, default_site; "all"), and a client that is closed after the command.
import type { Command } from 'commander';
import { checkSiteName, findBenchPath, getQueueSpec, loadBenchConfig, type BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import { BenchClient } from '../client.js';
import { checkRange, type NumberRange } from '../util/limits.js';
import { ALL_SITES, chooseSite, chooseSites } from './sites.js';

export interface GlobalOptions {
  benchPath?: string;
  site?: string;
}

/** The global options; a --site that is not a site name (also where it only filters) is ERR_SITE_NOT_FOUND. */
export function globals(command: Command): GlobalOptions {
  const options = command.optsWithGlobals<GlobalOptions>();
  if (options.site !== undefined) checkSiteName(options.site);
  return options;
}

export function benchFrom(command: Command): BenchConfig {
  return loadBenchConfig(findBenchPath(globals(command).benchPath));
}

/** The one site of a site-scoped command: --site, else $FRAPPE_SITE / $BENCH_SITE, currentsite.txt, default_site. */
export function requireSite(command: Command): string {
  return chooseSite(benchFrom(command), globals(command).site, command.name()).site;
}

/** The sites of a command that takes --site all (see requireSite for the others). */
export function requireSites(command: Command): string[] {
  return chooseSites(benchFrom(command), globals(command).site, command.name()).map((choice) => choice.site);
}

/** The explicit --site of a command where it only filters: "all" (every site) is no filter. */
export function siteFilter(command: Command): string | undefined {
  const site = globals(command).site;
  return site === ALL_SITES ? undefined : site;
}

/**
 * Run `action` with a client of the bench (connected on first use) and closed after it, once
 * `queue` (when given) is known to be one of the bench's queues.
 */
export async function withClient<T>(command: Command, queue: string | undefined, action: (client: BenchClient, site: string | undefined) => Promise<T>): Promise<T> {
  const { benchPath } = globals(command);
  const site = siteFilter(command);
  const client = await BenchClient.open({ benchPath, lazyConnect: true });
  try {
    if (queue !== undefined) getQueueSpec(client.bench, queue);
    return await action(client, site);
  } finally {
    await client.close();
  }
}

/** withClient for a site-scoped command: its site (requireSite) must be a site of the bench. */
export function withSiteClient<T>(command: Command, queue: string | undefined, action: (client: BenchClient, site: string) => Promise<T>): Promise<T> {
  const site = requireSite(command);
  return withClient(command, undefined, (client) => {
    client.siteConfig(site);
    if (queue !== undefined) getQueueSpec(client.bench, queue);
    return action(client, site);
  });
}

/** withClient for a command that takes --site all: its sites (requireSites), one after the other or together. */
export function withSitesClient<T>(command: Command, queue: string | undefined, action: (client: BenchClient, sites: string[]) => Promise<T>): Promise<T> {
  const sites = requireSites(command);
  return withClient(command, undefined, (client) => {
    for (const site of sites) client.siteConfig(site);
    if (queue !== undefined) getQueueSpec(client.bench, queue);
    return action(client, sites);
  });
}

/**
 * Commander parser for a number flag within `range`: anything else (not a number, a fraction for a whole
 * number, out of range) is a usage error, exit 2, naming the flag, the range and the value as given.
 */
export function numberFlag(name: string, range: NumberRange) {
  return (value: string): number => checkRange(value.trim() === '' ? Number.NaN : Number(value), name, range, 'ERR_USAGE', { exitCode: 2, given: value });
}
