// What every command needs from the global options: the bench (found from --bench-path or the
// current folder), its loaded config, --site when the command is site-scoped, and a client that is
// closed after the command.
import type { Command } from 'commander';
import { checkSiteName, findBenchPath, getQueueSpec, loadBenchConfig, type BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import { BenchClient } from '../client.js';
import { checkRange, type NumberRange } from '../util/limits.js';

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

export function requireSite(command: Command): string {
  const site = globals(command).site;
  if (!site) throw new BenchError('ERR_USAGE', `${command.name()} needs a site: bench --site SITE ${command.name()} ...`, { exitCode: 2 });
  return site;
}

/**
 * Run `action` with a client of the bench (connected on first use) and closed after it, once
 * `queue` (when given) is known to be one of the bench's queues.
 */
export async function withClient<T>(command: Command, queue: string | undefined, action: (client: BenchClient, site: string | undefined) => Promise<T>): Promise<T> {
  const { benchPath, site } = globals(command);
  const client = await BenchClient.open({ benchPath, lazyConnect: true });
  try {
    if (queue !== undefined) getQueueSpec(client.bench, queue);
    return await action(client, site);
  } finally {
    await client.close();
  }
}

/** withClient for a site-scoped command: --site is required and must be a site of the bench. */
export function withSiteClient<T>(command: Command, queue: string | undefined, action: (client: BenchClient, site: string) => Promise<T>): Promise<T> {
  const site = requireSite(command);
  return withClient(command, undefined, (client) => {
    client.siteConfig(site);
    if (queue !== undefined) getQueueSpec(client.bench, queue);
    return action(client, site);
  });
}

/**
 * Commander parser for a number flag within `range`: anything else (not a number, a fraction for a whole
 * number, out of range) is a usage error, exit 2, naming the flag, the range and the value as given.
 */
export function numberFlag(name: string, range: NumberRange) {
  return (value: string): number => checkRange(value.trim() === '' ? Number.NaN : Number(value), name, range, 'ERR_USAGE', { exitCode: 2, given: value });
}
