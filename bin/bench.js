#!/usr/bin/env node
// The `bench` command: the compiled CLI in dist/ (built by `npm ci` / `npm install`, or `npm run build`).
// The TypeScript loader is registered only where a .ts app module must be imported (src/jobs/app-module.ts).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('bench: dist/ is missing: run `npm run build` (npm ci and npm install build it)');
  process.exit(1);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv);
