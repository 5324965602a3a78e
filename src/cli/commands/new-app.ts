// `bench new-app NAME`: make an app (apps/NAME/NAME/ with tasks.ts holding one example job, and hooks.ts).
import path from 'node:path';
import { Command } from 'commander';
import { createApp } from '../../bench/scaffold.js';
import { benchFrom } from '../context.js';
import { printResult } from '../output.js';

export function makeNewAppCommand(): Command {
  return new Command('new-app')
    .description('make an app: apps/NAME/NAME/tasks.ts (an example job) and hooks.ts')
    .argument('<name>', 'app name: letters, digits and "_", not starting with a digit')
    .option('--json', 'print JSON')
    .action((name: string, flags: { json?: boolean }, command: Command) => {
      const bench = benchFrom(command);
      const dir = createApp(bench, name);
      printResult(Boolean(flags.json), { app: name, path: dir }, [
        `app ${name} created in ${path.relative(bench.path, dir)}/ (tasks.ts, hooks.ts)`,
        `try: bench --site SITE enqueue ${name}.tasks.hello --kwargs '{"name": "world"}'`,
      ].join('\n'));
    });
}
