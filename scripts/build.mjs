#!/usr/bin/env node
// `npm run build` (also run by `npm ci` / `npm install` through `prepare`): compile src/ to dist/
// (ES modules + .d.ts) for app code that imports bench-worker under plain Node, compile the dashboard's
// browser code (tsconfig.ui.json), and copy the Lua scripts and the dashboard's stylesheet beside them. The CLI and the worker run the sources through tsx and do not
// need it.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // An install without dev dependencies: nothing to build with. The CLI and worker still work.
  console.warn('build skipped: typescript is not installed (dist/ is only needed to import bench-worker from plain Node)');
  process.exit(0);
}
rmSync('dist', { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (result.status !== 0) {
  console.error('build failed: tsc -p tsconfig.build.json');
  process.exit(result.status ?? 1);
}
// The dashboard's browser code: its own settings (DOM, bare imports the page's import map resolves).
const ui = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.ui.json'], { stdio: 'inherit' });
if (ui.status !== 0) {
  console.error('build failed: tsc -p tsconfig.ui.json');
  process.exit(ui.status ?? 1);
}
cpSync('src/dashboard/ui/app.css', 'dist/dashboard/ui/app.css');
cpSync('src/redis/lua', 'dist/redis/lua', { recursive: true });
// Plain JavaScript that runs as is (the watchdog thread of a worker process).
cpSync('src/worker/watchdog-thread.cjs', 'dist/worker/watchdog-thread.cjs');
