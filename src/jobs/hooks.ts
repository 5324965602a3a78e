// Frappe's before_job / after_job hooks: each installed app may have a hooks module
// (apps/<app>/<app>/hooks.{ts,mjs,js}) exporting `before_job` and `after_job` lists of dotted paths.
// They are called for every job of a site where the app is installed, in installed-apps order.
// Resolved once per site (and installed-apps list) in a job child, then reused.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { SiteConfig } from '../config/load.js';
import { JobLoadError } from '../errors.js';
import { appModuleDir, loadMethod, MODULE_EXTENSIONS } from './loader.js';
import { importAppModule } from './app-module.js';

export type HookFunction = (args: Record<string, unknown>, ctx: never) => unknown;

export interface Hook {
  /** Dotted path, as declared. */
  path: string;
  fn: HookFunction;
}

export interface JobHooks {
  before: readonly Hook[];
  after: readonly Hook[];
}

const HOOK_NAMES = ['before_job', 'after_job'] as const;
const cache = new Map<string, Promise<JobHooks>>();

/** The hooks of every app installed on `site`, loaded on first use and cached. */
export function siteHooks(appsDir: string, site: SiteConfig): Promise<JobHooks> {
  const key = `${site.site}\0${site.installedApps.join(',')}`;
  let hooks = cache.get(key);
  if (!hooks) {
    hooks = loadHooks(appsDir, site.installedApps);
    cache.set(key, hooks);
    hooks.catch(() => cache.delete(key));
  }
  return hooks;
}

/** The hooks module file of `app`, if it has one (an invalid app name is a JobLoadError). */
export function hooksFile(appsDir: string, app: string): string | undefined {
  const base = path.join(appModuleDir(appsDir, app), 'hooks');
  return MODULE_EXTENSIONS.map((ext) => base + ext).find((file) => existsSync(file));
}

async function loadHooks(appsDir: string, installedApps: readonly string[]): Promise<JobHooks> {
  const before: Hook[] = [];
  const after: Hook[] = [];
  for (const app of installedApps) {
    const file = hooksFile(appsDir, app);
    if (file === undefined) continue;
    let mod: Record<string, unknown>;
    try {
      mod = await importAppModule(file);
    } catch (err) {
      throw new JobLoadError(`hooks of app "${app}": importing ${file} failed: ${(err as Error).message}`, { app, file }, err);
    }
    for (const name of HOOK_NAMES) {
      const list = mod[name];
      if (list === undefined) continue;
      if (!Array.isArray(list) || !list.every((entry) => typeof entry === 'string')) {
        throw new JobLoadError(`hooks of app "${app}": ${file} exports ${name}, but it is not a list of dotted paths`, { app, file, hook: name });
      }
      for (const hookPath of list as string[]) {
        const fn = (await loadMethod(appsDir, hookPath, installedApps)) as HookFunction;
        (name === 'before_job' ? before : after).push({ path: hookPath, fn });
      }
    }
  }
  return { before, after };
}
