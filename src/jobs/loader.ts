// Resolves a job's dotted method path to a function in an app's module:
//   "myapp.tasks.process_data" -> apps/myapp/myapp/tasks.{ts,mjs,js}, export `process_data`
//   "myapp.a.b.fn"             -> apps/myapp/myapp/a/b.{ts,mjs,js}, export `fn`
// Every failure names exactly what is missing (app, file, export, not a function), and a path that
// could leave apps/ is refused before touching the file system.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { APP_NAME_RULE, isAppName } from '../config/names.js';
import { BenchError, JobLoadError } from '../errors.js';
import { kindOf, quoted } from '../util/text.js';
import { importAppModule } from './app-module.js';

export const MODULE_EXTENSIONS = ['.ts', '.mjs', '.js'] as const;

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Longest dotted method path. */
const MAX_METHOD_LENGTH = 500;

export type JobFunction = (kwargs: Record<string, unknown>, ctx: never) => unknown;

export interface MethodLocation {
  method: string;
  app: string;
  /** Absolute path of the module file. */
  file: string;
  exportName: string;
}

/**
 * The module folder apps/<app>/<app> of `app`. Every path to an app's code is made here: a name that is
 * not an app name ("../outside", from a config or a caller) is refused before it touches a path.
 */
export function appModuleDir(appsDir: string, app: string): string {
  if (!isAppName(app)) {
    throw new JobLoadError(`${quoted(String(app))} is not an app name (${APP_NAME_RULE}): refused`, { app });
  }
  return path.join(appsDir, app, app);
}

/** Find the module file of `method` without importing it. */
export function resolveMethodFile(appsDir: string, method: string, installedApps?: readonly string[]): MethodLocation {
  const segments = typeof method === 'string' && method.length <= MAX_METHOD_LENGTH ? method.split('.') : [];
  if (segments.length < 3 || !segments.every((s) => SEGMENT.test(s))) {
    throw new JobLoadError(
      `invalid method ${quoted(String(method))}: expected a dotted path app.module.function (letters, digits and "_" only, at most ${MAX_METHOD_LENGTH} characters)`,
      { method },
    );
  }
  const app = segments[0] as string;
  const exportName = segments[segments.length - 1] as string;
  const appDir = appModuleDir(appsDir, app);
  if (!existsSync(appDir)) {
    throw new JobLoadError(`method "${method}": app "${app}" not found (no folder ${appDir})`, { method, app });
  }
  if (installedApps && !installedApps.includes(app)) {
    throw new BenchError('ERR_APP_NOT_INSTALLED', `method "${method}": app "${app}" is not installed on this site`, {
      details: { method, app, installedApps },
    });
  }
  const base = path.join(appDir, ...segments.slice(1, -1));
  const root = path.resolve(appsDir) + path.sep;
  if (!path.resolve(base).startsWith(root)) {
    throw new JobLoadError(`method "${method}" resolves outside apps/: refused`, { method });
  }
  const file = MODULE_EXTENSIONS.map((ext) => base + ext).find((candidate) => existsSync(candidate));
  if (file === undefined) {
    const tried = MODULE_EXTENSIONS.map((ext) => path.relative(appsDir, base + ext)).join(', ');
    throw new JobLoadError(`method "${method}": module file not found in apps/ (tried ${tried})`, {
      method,
      app,
      tried,
    });
  }
  return { method, app, file, exportName };
}

/** Imported modules by file: a long-lived child imports each job module once (changes need a restart). */
const modules = new Map<string, Promise<Record<string, unknown>>>();

function importModule(file: string): Promise<Record<string, unknown>> {
  let mod = modules.get(file);
  if (!mod) {
    mod = importAppModule(file);
    modules.set(file, mod);
    mod.catch(() => modules.delete(file));
  }
  return mod;
}

/** Resolved methods by apps folder and path: a long-lived child resolves each method once. */
const resolved = new Map<string, MethodLocation>();

/** Import the module of `method` and return its exported function. */
export async function loadMethod(
  appsDir: string,
  method: string,
  installedApps?: readonly string[],
): Promise<JobFunction> {
  const key = `${appsDir}\0${method}`;
  let location = resolved.get(key);
  if (location && installedApps && !installedApps.includes(location.app)) location = undefined;
  if (!location) {
    location = resolveMethodFile(appsDir, method, installedApps);
    resolved.set(key, location);
  }
  return functionAt(location);
}

/**
 * The function a resolved method names: its module imported by `importer` (default: once per process),
 * or a JobLoadError naming what is wrong (the import failed, no such export, not a function).
 */
export async function functionAt(
  location: MethodLocation,
  importer: (file: string) => Promise<Record<string, unknown>> = importModule,
): Promise<JobFunction> {
  const { method } = location;
  let mod: Record<string, unknown>;
  try {
    mod = await importer(location.file);
  } catch (err) {
    throw new JobLoadError(
      `method "${method}": importing ${location.file} failed: ${(err as Error).message}`,
      { method, file: location.file },
      err,
    );
  }
  if (!Object.hasOwn(mod, location.exportName)) {
    const exported = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new JobLoadError(
      `method "${method}": ${location.file} has no export "${location.exportName}" (exported functions: ${exported.join(', ') || 'none'})`,
      { method, file: location.file, exportName: location.exportName },
    );
  }
  const fn = mod[location.exportName];
  if (typeof fn !== 'function') {
    throw new JobLoadError(
      `method "${method}": export "${location.exportName}" of ${location.file} is ${kindOf(fn)}, not a function`,
      { method, file: location.file, exportName: location.exportName },
    );
  }
  return fn as JobFunction;
}
