// `bench start` (development): when redis_queue is local and nothing answers there, start
// redis-server from config/redis_queue.conf (written by `bench setup redis` if missing); then the
// workers `bench setup supervisor` would run (short, long, one per custom queue) and the scheduler, then the bench's
// Procfile extras (lines of `name: command`). Each process's output is prefixed by its name.
// Ctrl-C stops them all in reverse order; a second Ctrl-C kills them at once.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { BenchError } from '../../errors.js';
import { localRedisPort, portAnswers, waitForPort } from '../../bench/local-redis.js';
import { ProcessGroup, type SpawnSpec } from '../../bench/processes.js';
import { GENERATED_MARK, renderRedisConf } from '../../bench/setup-files.js';
import { scheduleCommand, workerCommand, workerGroups } from '../../bench/worker-groups.js';
import { benchFrom } from '../context.js';
import { writeRendered } from './setup.js';

export function makeStartCommand(): Command {
  return new Command('start')
    .description('development: run Redis (if needed), the short/long/custom-queue workers, the scheduler and the Procfile extras')
    .action(async (_flags: unknown, command: Command) => {
      const bench = benchFrom(command);
      const specs: SpawnSpec[] = [];
      const port = localRedisPort(bench);
      if (port !== undefined && !(await portAnswers(port))) {
        const conf = path.join(bench.path, 'config', 'redis_queue.conf');
        if (!existsSync(conf) || readFileSync(conf, 'utf8').startsWith(GENERATED_MARK)) writeRendered(bench, [renderRedisConf(bench)]);
        specs.push({ name: 'redis_queue', command: 'redis-server', args: [conf, '--daemonize', 'no'], cwd: bench.path });
      }
      for (const group of workerGroups(bench)) {
        const [command, ...args] = workerCommand(bench, group);
        specs.push({ name: group.name, command: command as string, args, cwd: bench.path });
      }
      const [node, ...scheduleArgs] = scheduleCommand(bench);
      specs.push({ name: 'schedule', command: node as string, args: scheduleArgs, cwd: bench.path });
      specs.push(...procfileSpecs(bench.path));

      const group = new ProcessGroup(specs.map((s) => s.name));
      let stopping: Promise<void> | undefined;
      const stop = () => {
        if (stopping) {
          group.killAll();
          return;
        }
        process.stdout.write('bench start: stopping (Ctrl-C again to kill)\n');
        stopping = group.stopAll(10_000);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        for (const spec of specs) {
          const managed = group.start(spec);
          if (spec.name === 'redis_queue' && port !== undefined) {
            await Promise.race([waitForPort(port, 10_000), managed.exited.then(() => {
              throw new BenchError('ERR_REDIS_UNAVAILABLE', 'redis-server exited at start (is it installed? apt-get install redis-server)');
            })]);
          }
        }
        // Run until Ctrl-C, or until a process dies on its own (then stop the rest).
        await Promise.race([
          ...group.processes.map((p) => p.exited.then(({ code }) => {
            if (!stopping) process.stdout.write(`bench start: ${p.name} exited (code ${String(code)}); stopping the rest\n`);
          })),
          new Promise<void>((resolve) => process.once('SIGINT', () => resolve()).once('SIGTERM', () => resolve())),
        ]);
        stopping ??= group.stopAll(10_000);
        await stopping;
      } catch (err) {
        await group.stopAll(5_000);
        throw err;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}

/** Extra processes from the bench's Procfile: `name: command` lines, run with sh in the bench folder. */
function procfileSpecs(benchPath: string): SpawnSpec[] {
  const file = path.join(benchPath, 'Procfile');
  if (!existsSync(file)) return [];
  // Number the lines before dropping blank and comment lines, so an error names the file's own line.
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line, i) => ({ line: line.trim(), number: i + 1 }))
    .filter(({ line }) => line !== '' && !line.startsWith('#'))
    .map(({ line, number }) => {
      const match = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line);
      if (!match) throw new BenchError('ERR_CONFIG_INVALID', `${file}: line ${number}: expected "name: command"`);
      return { name: match[1] as string, command: 'sh', args: ['-c', `exec ${match[2] as string}`], cwd: benchPath };
    });
}
