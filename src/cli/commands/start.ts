// `bench start` (development), as Frappe's: runs the bench's Procfile, honcho-style. Without a
// Procfile it writes Frappe's (`bench setup procfile`) first; a Procfile that lacks some of Frappe's
// entries (redis_queue, worker, worker_<queue>, schedule, and this package's dashboard) gets them
// added after a question (or --yes). The redis_queue entry starts first, and is skipped when
// something already answers on its port; its config/redis_queue.conf is written when missing.
// Output lines are prefixed by process name; when one process ends the others are stopped, and the
// exit code is that of the first one to end on its own when it failed (ERR_COMMAND_FAILED), else 0.
// Ctrl-C (or SIGTERM) is forwarded to every process group; a second one kills them at once.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { BenchConfig } from '../../config/load.js';
import { BenchError } from '../../errors.js';
import { localRedisPort, queueRedisElsewhere, portAnswers, waitForPort } from '../../bench/local-redis.js';
import { missingEntries, parseProcfile, PROCFILE, renderProcfile, withEntries, type ProcfileEntry } from '../../bench/procfile.js';
import { ProcessGroup, wantsColor, type SpawnSpec } from '../../bench/processes.js';
import { GENERATED_MARK, renderRedisConf } from '../../bench/setup-files.js';
import { benchFrom } from '../context.js';
import { confirmChange } from '../confirm.js';
import { writeRendered } from './setup-write.js';

interface StartFlags {
  dev: boolean;
  prefix: boolean;
  concurrency: Record<string, number>;
  yes?: boolean;
}

/** Seconds a process gets to stop after the signal before its group is killed. */
const STOP_GRACE_MS = 10_000;

/** `-c name=n[,name=n]` (repeatable): processes per Procfile entry. */
function concurrencyFlag(value: string, previous: Record<string, number>): Record<string, number> {
  const out = { ...previous };
  for (const part of value.split(',')) {
    const match = /^\s*([A-Za-z0-9_-]+)=(\d+)\s*$/.exec(part);
    const n = match ? Number(match[2]) : Number.NaN;
    if (!match || !Number.isInteger(n) || n < 0 || n > 100) {
      throw new BenchError('ERR_USAGE', `--concurrency takes name=n (n from 0 to 100), comma-separated; found ${JSON.stringify(part)}`, { exitCode: 2 });
    }
    out[match[1] as string] = n;
  }
  return out;
}

export function makeStartCommand(): Command {
  return new Command('start')
    .description("development: run the bench's Procfile (Redis, the workers, the scheduler, the dashboard, your extras), writing or completing it first")
    .option('--no-dev', 'do not set DEV_SERVER=true for the processes (Frappe sets it for development)')
    .option('-c, --concurrency <name=n>', 'processes of a Procfile entry, e.g. -c worker=2,worker_reports=0', concurrencyFlag, {})
    .option('--no-prefix', 'print process output without the name prefix')
    .option('-y, --yes', 'add missing entries to an existing Procfile without asking')
    .action(async (flags: StartFlags, command: Command) => {
      const bench = benchFrom(command);
      const entries = await procfileEntries(bench, flags.yes ?? false);
      for (const name of Object.keys(flags.concurrency)) {
        if (!entries.some((e) => e.name === name)) throw new BenchError('ERR_USAGE', `--concurrency names "${name}", which the Procfile has no entry for (it has ${entries.map((e) => e.name).join(', ')})`, { exitCode: 2 });
      }
      await run(bench, entries, flags);
    });
}

/** The Procfile's entries: written first when missing, completed (after a question) when it lacks some of Frappe's. */
async function procfileEntries(bench: BenchConfig, yes: boolean): Promise<ProcfileEntry[]> {
  const file = path.join(bench.path, PROCFILE);
  if (!existsSync(file)) {
    writeFileSync(file, renderProcfile(bench));
    process.stdout.write(`bench start: wrote ${file} (bench setup procfile)\n`);
  }
  const text = readFileSync(file, 'utf8');
  const entries = parseProcfile(text, file);
  const { missing, after } = missingEntries(bench, entries);
  if (missing.length === 0) return entries;
  const names = missing.map((e) => e.name).join(', ');
  await confirmChange(`${file} has no ${names}: add them?`, `add ${names} to ${file}`, yes);
  writeFileSync(file, withEntries(text, missing, after));
  process.stdout.write(`bench start: added ${names} to ${file}\n`);
  return parseProcfile(readFileSync(file, 'utf8'), file);
}

/**
 * The sh line of a Procfile command. A simple command is exec'd, so that the signal reaches the
 * program itself (sh would die at once and leave it to be killed); a compound one (; & | ( ) or
 * a substitution) runs as written, and its processes stop with sh's process group.
 */
function shellLine(command: string): string {
  return /[;&|()`\n]|\$\(/.test(command) ? command : `exec ${command}`;
}

async function run(bench: BenchConfig, entries: readonly ProcfileEntry[], flags: StartFlags): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (flags.dev) env['DEV_SERVER'] = 'true';
  const specs: SpawnSpec[] = [];
  const skipped: string[] = [];
  const port = localRedisPort(bench);
  const elsewhere = queueRedisElsewhere(bench);
  for (const entry of entries) {
    const count = flags.concurrency[entry.name] ?? 1;
    if (count === 0) continue;
    if (entry.name === 'redis_queue' && elsewhere !== undefined) {
      skipped.push(`redis_queue: the queues live on ${elsewhere}; not starting a local Redis`);
      continue;
    }
    if (entry.name === 'redis_queue' && port !== undefined) {
      if (await portAnswers(port)) {
        skipped.push(`redis_queue: something already answers on port ${port}; not starting another Redis`);
        continue;
      }
      const conf = path.join(bench.path, 'config', 'redis_queue.conf');
      if (!existsSync(conf) || readFileSync(conf, 'utf8').startsWith(GENERATED_MARK)) writeRendered(bench, [renderRedisConf(bench)]);
    }
    for (let i = 1; i <= count; i++) {
      specs.push({ name: count > 1 ? `${entry.name}.${i}` : entry.name, command: 'sh', args: ['-c', shellLine(entry.command)], cwd: bench.path, env });
    }
  }
  const group = new ProcessGroup(['system', ...specs.map((s) => s.name)], { prefix: flags.prefix, color: wantsColor() });
  for (const line of skipped) group.say(line);

  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      group.say('killing every process');
      group.killAll();
      return;
    }
    signalled = signal;
    group.say(`${signal} received: stopping (again to kill)`);
    wake();
  };
  let wake: () => void = () => {};
  const asked = new Promise<void>((resolve) => (wake = resolve));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // The queue Redis first: the workers exit when they cannot reach it at start.
    const redis = specs.filter((s) => s.name.startsWith('redis_queue'));
    for (const spec of redis) {
      const managed = group.start(spec);
      if (port !== undefined) {
        await Promise.race([
          waitForPort(port, 10_000),
          managed.exited.then(() => {
            throw new BenchError('ERR_REDIS_UNAVAILABLE', `${spec.name} exited at start (is redis-server installed? apt-get install redis-server)`);
          }),
          asked,
        ]);
      }
    }
    if (!signalled) for (const spec of specs.filter((s) => !redis.includes(s))) group.start(spec);
    await Promise.race([group.untilEnd(), asked]);
    const { code, failed } = await group.stop(signalled ?? 'SIGTERM', STOP_GRACE_MS);
    if (failed !== undefined) throw new BenchError('ERR_COMMAND_FAILED', `bench start: ${failed}; the others were stopped`, { exitCode: code, details: { exitCode: code } });
  } catch (err) {
    await group.stop('SIGTERM', 5_000);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
