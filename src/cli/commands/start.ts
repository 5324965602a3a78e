// `bench start` (development): start redis-server for the bench when redis_queue is local and
// nothing answers there, then a worker on every queue, then the bench's Procfile extras (lines of
// `name: command`). Ctrl-C stops them all in reverse order; a second Ctrl-C kills them at once.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { BenchError } from '../../errors.js';
import { localRedisPort, portAnswers, redisServerSpec, waitForPort } from '../../bench/local-redis.js';
import { ProcessGroup, type SpawnSpec } from '../../bench/processes.js';
import { benchFrom } from '../context.js';

const BENCH_BIN = fileURLToPath(new URL('../../../bin/bench.js', import.meta.url));

export function makeStartCommand(): Command {
  return new Command('start')
    .description('development: run Redis (if needed), a worker on all queues and the Procfile extras')
    .action(async (_flags: unknown, command: Command) => {
      const bench = benchFrom(command);
      const specs: SpawnSpec[] = [];
      const port = localRedisPort(bench);
      if (port !== undefined && !(await portAnswers(port))) specs.push(redisServerSpec(bench, port));
      specs.push({ name: 'worker', command: process.execPath, args: [BENCH_BIN, '--bench-path', bench.path, 'worker'], cwd: bench.path });
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
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line, i) => {
      const match = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line);
      if (!match) throw new BenchError('ERR_CONFIG_INVALID', `${file}: line ${i + 1}: expected "name: command"`);
      return { name: match[1] as string, command: 'sh', args: ['-c', `exec ${match[2] as string}`], cwd: benchPath };
    });
}
