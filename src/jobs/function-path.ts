// Turns a function passed to enqueue() into its dotted method path by finding the app module that
// exports it. Workers run jobs in other processes, so only a path can travel through Redis.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { JobLoadError } from '../errors.js';
import { appModuleDir, MODULE_EXTENSIONS } from './loader.js';
import { importAppModule } from './app-module.js';

const cache = new WeakMap<object, string>();
const SKIP_DIRS = new Set(['node_modules', 'public', 'test', 'tests', 'dist']);

export async function methodPathOf(fn: (...args: never[]) => unknown, appsDir: string, apps: readonly string[]): Promise<string> {
  const known = cache.get(fn);
  if (known !== undefined) return known;
  for (const app of apps) {
    const appDir = appModuleDir(appsDir, app);
    for (const file of moduleFiles(appDir)) {
      const rel = path.relative(appDir, file);
      const modulePath = rel.slice(0, -path.extname(rel).length).split(path.sep);
      if (!modulePath.every((s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s))) continue;
      let mod: Record<string, unknown>;
      try {
        mod = await importAppModule(file);
      } catch {
        continue;
      }
      for (const [name, value] of Object.entries(mod)) {
        if (value === fn) {
          const method = [app, ...modulePath, name].join('.');
          cache.set(fn, method);
          return method;
        }
      }
    }
  }
  throw new JobLoadError(
    `function "${fn.name || '(anonymous)'}" is not exported by any module of the installed apps; export it from apps/<app>/<app>/… or pass its dotted path`,
    { function: fn.name },
  );
}

function moduleFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) files.push(...moduleFiles(full));
    } else if ((MODULE_EXTENSIONS as readonly string[]).includes(path.extname(entry.name)) && !entry.name.endsWith('.d.ts')) {
      files.push(full);
    }
  }
  return files;
}
