// `bench init DIR`: make a new bench (apps/, sites/ with common_site_config.json and a random bench_id,
// config/, logs/, a Procfile), then say what to do next.
import path from 'node:path';
import { Command } from 'commander';
import { createBench } from '../../bench/scaffold.js';
import { printResult } from '../output.js';

export function makeInitCommand(): Command {
  return new Command('init')
    .description('make a new bench in DIR: apps/, sites/ (common_site_config.json with a random bench_id), config/, logs/, Procfile')
    .argument('<dir>', 'folder of the new bench (created; or an empty one)')
    .option('--redis-queue <url>', 'redis_queue of the bench (default redis://127.0.0.1:11000)')
    .option('--json', 'print JSON')
    .action((dir: string, flags: { redisQueue?: string; json?: boolean }) => {
      const benchPath = createBench(dir, { redisQueue: flags.redisQueue });
      const shown = path.relative(process.cwd(), benchPath) || '.';
      printResult(Boolean(flags.json), { path: benchPath }, [
        `bench created in ${benchPath}`,
        'next:',
        `  cd ${shown}`,
        '  bench new-site site1.localhost',
        '  bench new-app myapp',
        '  bench start',
      ].join('\n'));
    });
}
