// Finds the bench folder and loads its configuration: built-in defaults <- sites/common_site_config.json
// <- sites/<site>/site_config.json. Results are frozen and passed down; nothing reads config globally.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { BenchError } from '../errors.js';
import { quoted } from '../util/text.js';
import { SITE_NAME_RULE, isAppName, isSiteName } from './names.js';
import { BUILTIN_QUEUES, CUSTOM_QUEUE_DEFAULT_TIMEOUT, DEFAULTS, type BenchSettings } from './schema.js';
import { readJsonObject, validateKnownKeys, type RawConfig } from './validate.js';

export interface QueueSpec {
  name: string;
  /** Default job timeout for this queue, seconds. */
  timeout: number;
}

export interface BenchConfig {
  /** Absolute path of the bench folder. */
  path: string;
  appsDir: string;
  sitesDir: string;
  commonConfigFile: string;
  /** The merged common config (defaults + file), unknown keys included. */
  common: Readonly<RawConfig>;
  settings: Readonly<BenchSettings>;
  /** short, default, long, then custom queues: also the priority order. */
  queues: readonly QueueSpec[];
  /** Keys of common_site_config.json that look like typos of known keys (also sent to process.emitWarning). */
  warnings: readonly string[];
  /**
   * True when common_site_config.json sets bench_id. Until then settings.bench_id is pathBenchId (the old
   * default), and the first command that connects to Redis saves one (redis/bench-id.ts ensureBenchId).
   */
  benchIdSaved: boolean;
}

export interface SiteConfig {
  site: string;
  file: string;
  /** Common config overlaid with the site's file: what jobs see as ctx.config. */
  merged: Readonly<RawConfig>;
  settings: Readonly<BenchSettings>;
  installedApps: readonly string[];
  /** Keys of its site_config.json that look like typos of known keys. */
  warnings: readonly string[];
}

/** The bench is `explicit` if given, else the current folder or its nearest parent holding `sites/`. */
export function findBenchPath(explicit: string | undefined, cwd: string = process.cwd()): string {
  if (explicit !== undefined) {
    const abs = path.resolve(cwd, explicit);
    if (!isDir(path.join(abs, 'sites'))) {
      throw new BenchError('ERR_BENCH_NOT_FOUND', `${abs} is not a bench: it has no sites/ folder`);
    }
    return abs;
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (isDir(path.join(dir, 'sites'))) return dir;
    if (path.dirname(dir) === dir) break;
  }
  throw new BenchError(
    'ERR_BENCH_NOT_FOUND',
    `no bench found: neither ${cwd} nor any parent holds a sites/ folder (use --bench-path DIR)`,
  );
}

/**
 * Load the bench's common config. Its near-miss keys go to process.emitWarning (once per process) unless
 * `warn` is false (a worker process: its supervisor reported them).
 */
export function loadBenchConfig(benchPath: string, options: { warn?: boolean } = {}): BenchConfig {
  const sitesDir = path.join(benchPath, 'sites');
  const commonConfigFile = path.join(sitesDir, 'common_site_config.json');
  const raw = readJsonObject(commonConfigFile, { optional: true });
  const warnings = validateKnownKeys(raw, commonConfigFile, false);
  if (options.warn !== false) emitWarnings(warnings);
  const common = Object.freeze({ ...DEFAULTS, bench_id: pathBenchId(benchPath), ...raw });
  const settings = Object.freeze(toSettings(common));
  return Object.freeze({
    path: benchPath,
    appsDir: path.join(benchPath, 'apps'),
    sitesDir,
    commonConfigFile,
    common,
    settings,
    queues: Object.freeze(queueSpecs(settings)),
    warnings: Object.freeze(warnings),
    benchIdSaved: typeof raw['bench_id'] === 'string',
  });
}

/** `site` when it is a valid site name (a folder of sites/, never ".."); else ERR_SITE_NOT_FOUND. */
export function checkSiteName(site: string): string {
  if (isSiteName(site)) return site;
  throw new BenchError('ERR_SITE_NOT_FOUND', `${quoted(String(site))} is not a valid site name: ${SITE_NAME_RULE}`, { details: { site } });
}

export function loadSiteConfig(bench: BenchConfig, site: string): SiteConfig {
  checkSiteName(site);
  const dir = path.join(bench.sitesDir, site);
  const file = path.join(dir, 'site_config.json');
  if (!existsSync(file)) {
    const available = listSites(bench);
    throw new BenchError('ERR_SITE_NOT_FOUND', `site "${site}" not found: ${file} does not exist (sites: ${available.join(', ') || 'none'})`, {
      details: { site, availableSites: available },
    });
  }
  const raw = readJsonObject(file, { optional: false });
  const warnings = validateKnownKeys(raw, file, true);
  emitWarnings(warnings);
  const merged = Object.freeze({ ...bench.common, ...raw });
  const installed = raw['installed_apps'];
  return Object.freeze({
    site,
    file,
    merged,
    settings: Object.freeze(toSettings(merged)),
    installedApps: Object.freeze(Array.isArray(installed) ? (installed as string[]) : listApps(bench)),
    warnings: Object.freeze(warnings),
  });
}

/** Sites of the bench: every folder of sites/ with a valid site name holding a site_config.json. */
export function listSites(bench: BenchConfig): string[] {
  return listDirs(bench.sitesDir).filter((name) => isSiteName(name) && existsSync(path.join(bench.sitesDir, name, 'site_config.json')));
}

/**
 * Apps of the bench: every folder apps/<app> holding its module folder apps/<app>/<app>, whose name is
 * a valid app name (a method path could not name any other).
 */
export function listApps(bench: BenchConfig): string[] {
  return listDirs(bench.appsDir).filter((name) => isAppName(name) && isDir(path.join(bench.appsDir, name, name)));
}

/**
 * The bench id derived from its path (Frappe's default, and this one's before ids were saved): the path
 * without leading/trailing "/", other "/" turned into "-"; spaces and braces (which would break Redis hash
 * tags) become "-" too. Not a default any more: `/srv/a/b` and `/srv/a-b` get the same one, and a moved
 * bench another. Kept for benches whose jobs already live under it (redis/bench-id.ts).
 */
export function pathBenchId(benchPath: string): string {
  return benchPath.replace(/^\/+|\/+$/g, '').replace(/[/\s{}]/g, '-') || 'bench';
}

/** The queue called `name`, or an error listing the valid ones. */
export function getQueueSpec(bench: BenchConfig, name: string): QueueSpec {
  const spec = bench.queues.find((q) => q.name === name);
  if (spec) return spec;
  const valid = bench.queues.map((q) => q.name).join(', ');
  throw new BenchError('ERR_QUEUE_UNKNOWN', `unknown queue ${quoted(String(name))}: queue should be one of ${valid}`, {
    details: { queue: name, validQueues: bench.queues.map((q) => q.name) },
  });
}

/**
 * The default timeout (seconds) of queue `name`, and its name: what a job hash without a `timeout` field
 * runs with. A queue not in `bench.queues` (no longer in the config, its jobs still in Redis) gets its
 * built-in default, or a custom queue's.
 */
export function queueTimeout(bench: { readonly queues: readonly QueueSpec[] }, name: string): QueueSpec {
  const timeout = bench.queues.find((q) => q.name === name)?.timeout ?? (BUILTIN_QUEUES as Record<string, number>)[name] ?? CUSTOM_QUEUE_DEFAULT_TIMEOUT;
  return { name, timeout };
}

function toSettings(config: RawConfig): BenchSettings {
  return config as unknown as BenchSettings;
}

function queueSpecs(settings: BenchSettings): QueueSpec[] {
  const specs: QueueSpec[] = Object.entries(BUILTIN_QUEUES).map(([name, timeout]) => ({ name, timeout }));
  for (const [name, custom] of Object.entries(settings.workers)) {
    if (name in BUILTIN_QUEUES) {
      // A "workers" entry for a built-in queue only tunes its timeout; it keeps its place.
      const spec = specs.find((s) => s.name === name);
      if (spec && custom.timeout !== undefined) spec.timeout = custom.timeout;
      continue;
    }
    specs.push({ name, timeout: custom.timeout ?? CUSTOM_QUEUE_DEFAULT_TIMEOUT });
  }
  return specs;
}

const warned = new Set<string>();

/** Each warning once per process, as a Node process warning (type ConfigWarning, code BENCH_CONFIG_UNKNOWN_KEY). */
function emitWarnings(warnings: readonly string[]): void {
  for (const warning of warnings) {
    if (warned.has(warning)) continue;
    warned.add(warning);
    process.emitWarning(warning, { type: 'ConfigWarning', code: 'BENCH_CONFIG_UNKNOWN_KEY' });
  }
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDir(path.join(dir, e.name))))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
