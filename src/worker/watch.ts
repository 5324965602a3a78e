// `bench worker --watch` (development): chokidar watches the apps and the site config files, and a
// change recycles the job children gracefully (idle ones at once, busy ones after their jobs). Job
// modules are never re-imported in place: a fresh child imports the new code.
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { listSites, type BenchConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';

const IGNORED = /(^|[/\\])(node_modules|\.git|__pycache__|dist|logs)([/\\]|$)|\.(log|swp|tmp)$|~$/;

export interface WatchHandle {
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchBench(bench: BenchConfig, log: Logger, onChange: (files: string[]) => void, debounceMs = 300): WatchHandle {
  const configFiles = [bench.commonConfigFile, ...listSites(bench).map((site) => path.join(bench.sitesDir, site, 'site_config.json'))];
  const watcher: FSWatcher = watch([bench.appsDir, ...configFiles], {
    ignoreInitial: true,
    ignored: (file: string) => IGNORED.test(file),
  });
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const changed = (file: string) => {
    pending.add(path.relative(bench.path, file));
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = [...pending];
      pending = new Set();
      log.info({ files }, 'files changed; recycling job children');
      onChange(files);
    }, debounceMs);
  };
  watcher.on('add', changed).on('change', changed).on('unlink', changed);
  watcher.on('error', (err: unknown) => log.warn({ err }, 'file watcher error'));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
