// Day one without copying folders by hand: the files of a new bench (`bench init`), of a new site
// (`bench new-site`: its folder, its site_config.json and its database) and of a new app (`bench
// new-app`: apps/<app>/<app>/ with a tasks.ts holding one example job and a hooks.ts). Nothing is
// overwritten: an existing bench folder (not empty), site or app is refused with ERR_ALREADY_EXISTS.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { newBenchId } from '../config/bench-id.js';
import { loadBenchConfig, type BenchConfig } from '../config/load.js';
import { APP_NAME_RULE, isAppName, isSiteName, SITE_NAME_RULE } from '../config/names.js';
import { DEFAULTS } from '../config/schema.js';
import { validateKnownKeys, type RawConfig } from '../config/validate.js';
import { ensureErrorLogTable } from '../db/error-log.js';
import { ensureSchedulerTables } from '../db/scheduler-log.js';
import { BenchClient } from '../client.js';
import { BenchError } from '../errors.js';
import { PROCFILE, renderProcfile } from './procfile.js';

export interface NewBenchOptions {
  /** redis_queue of the new bench (default: the usual local one, redis://127.0.0.1:11000). */
  redisQueue?: string | undefined;
}

/** The folders `bench init` makes, as frappe-bench lays a bench out. */
export const BENCH_FOLDERS = ['apps', 'sites', 'config', 'config/pids', 'logs'] as const;

/** Make a bench in `dir` (created; or empty). Resolves to its absolute path. */
export function createBench(dir: string, options: NewBenchOptions = {}): string {
  const benchPath = path.resolve(dir);
  if (existsSync(benchPath) && readdirSync(benchPath).length > 0) {
    throw new BenchError('ERR_ALREADY_EXISTS', `${benchPath} exists and is not empty: bench init makes a bench in a new (or empty) folder`, { details: { path: benchPath } });
  }
  const config: RawConfig = {
    redis_queue: options.redisQueue ?? DEFAULTS.redis_queue,
    bench_id: newBenchId(),
    background_workers: DEFAULTS.background_workers,
    workers: {},
  };
  const commonFile = path.join(benchPath, 'sites', 'common_site_config.json');
  validateKnownKeys(config, commonFile, false);
  for (const folder of BENCH_FOLDERS) mkdirSync(path.join(benchPath, folder), { recursive: true });
  writeFileSync(commonFile, `${JSON.stringify(config, null, 2)}\n`);
  // Frappe's entries (redis_queue, worker, schedule), as `bench setup procfile` writes them.
  writeFileSync(path.join(benchPath, PROCFILE), renderProcfile(loadBenchConfig(benchPath)));
  return benchPath;
}

export interface NewSiteOptions {
  dbType?: 'sqlite' | 'postgres' | undefined;
  dbUrl?: string | undefined;
}

/**
 * Make site `name`: sites/<name>/site_config.json, then its database through a site database handle
 * (the SQLite file sites/<name>/site.db by default) with the tables bench-worker keeps there. A
 * database that cannot be made leaves no site behind. Resolves to a description of the database.
 */
export async function createSite(benchPath: string, name: string, options: NewSiteOptions = {}): Promise<string> {
  if (!isSiteName(name)) throw new BenchError('ERR_USAGE', `invalid site name "${name}": ${SITE_NAME_RULE}`, { exitCode: 2 });
  if (name === 'all') throw new BenchError('ERR_USAGE', 'a site cannot be named "all": --site all means every site', { exitCode: 2 });
  const bench = loadBenchConfig(benchPath);
  const dir = path.join(bench.sitesDir, name);
  if (existsSync(dir)) throw new BenchError('ERR_ALREADY_EXISTS', `site "${name}" exists already (${dir})`, { details: { site: name } });
  const config: RawConfig = {};
  if (options.dbType !== undefined) config['db_type'] = options.dbType;
  if (options.dbUrl !== undefined) config['db_url'] = options.dbUrl;
  const file = path.join(dir, 'site_config.json');
  validateKnownKeys(config, file, true);
  if (options.dbType === 'postgres' && options.dbUrl === undefined && bench.settings.db_url === undefined) {
    throw new BenchError('ERR_USAGE', `a postgres site needs --db-url (or db_url in ${bench.commonConfigFile})`, { exitCode: 2 });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  try {
    const client = await BenchClient.open({ benchPath: bench.path, lazyConnect: true });
    try {
      const db = client.siteDb(name);
      await ensureSchedulerTables(db);
      await ensureErrorLogTable(db);
      return db.description;
    } finally {
      await client.close();
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    if (err instanceof BenchError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new BenchError('ERR_DB', `the database of site "${name}" could not be made, so the site was not created: ${reason}`, { cause: err, details: { site: name } });
  }
}

/** Make app `name`: apps/<name>/<name>/ with tasks.ts (one example job) and hooks.ts. Resolves to the module folder. */
export function createApp(bench: BenchConfig, name: string): string {
  if (!isAppName(name)) throw new BenchError('ERR_USAGE', `invalid app name "${name}": ${APP_NAME_RULE}`, { exitCode: 2 });
  const appDir = path.join(bench.appsDir, name);
  if (existsSync(appDir)) throw new BenchError('ERR_ALREADY_EXISTS', `app "${name}" exists already (${appDir})`, { details: { app: name } });
  const moduleDir = path.join(appDir, name);
  mkdirSync(moduleDir, { recursive: true });
  writeFileSync(path.join(moduleDir, 'tasks.ts'), tasksModule(name));
  writeFileSync(path.join(moduleDir, 'hooks.ts'), hooksModule(name));
  return moduleDir;
}

function tasksModule(app: string): string {
  return `// Background jobs of the ${app} app. Each exported function is a job, called as fn(kwargs, ctx).
// Enqueue this one with:
//   bench --site SITE enqueue ${app}.tasks.hello --kwargs '{"name": "world"}'
// or from app code: enqueue('${app}.tasks.hello', { site, kwargs: { name: 'world' } }).
import type { JobContext } from 'bench-worker';

/** An example job: logs a greeting and returns it (kept as the job's result). */
export async function hello(kwargs: { name?: string }, ctx: JobContext) {
  const greeting = \`Hello, \${kwargs.name ?? 'world'}, from \${ctx.site}\`;
  ctx.log.info({ greeting }, 'greeting');
  return { greeting };
}
`;
}

function hooksModule(app: string): string {
  return `// Hooks of the ${app} app (Frappe's hooks.py), read by the workers and the scheduler.

// Dotted paths of functions called before and after every job of a site where ${app} is installed.
export const before_job: string[] = [];
export const after_job: string[] = [];

// Events the scheduler (bench schedule, run by bench start) enqueues for every site:
// export const scheduler_events = {
//   hourly: ['${app}.tasks.hello'],
//   daily_long: [],
//   cron: { '*/15 * * * *': ['${app}.tasks.hello'] },
// };
`;
}
