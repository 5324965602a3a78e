// `bench worker` and `bench worker-pool`: run a supervisor with N worker processes on this bench's
// queues until stopped (SIGTERM/SIGINT: warm shutdown; a second signal: cold shutdown), or
// with --burst until the queues are empty. -u / -p (Frappe's --rq-username / --rq-password) log in
// as that Redis user: the password is masked in this process's own command line (process.title) and
// reaches the worker processes through their environment, never their argv, a log or a unit file.
import { Command, Option } from 'commander';
import { BenchError } from '../../errors.js';
import { quoted } from '../../util/text.js';
import { createLogger } from '../../log/logger.js';
import { DEQUEUE_STRATEGIES, type DequeueStrategy } from '../../worker/strategy.js';
import { Supervisor } from '../../worker/supervisor.js';
import { settleBenchId } from '../../redis/bench-id.js';
import { CONCURRENCY_RANGE, WORKER_PROCESSES_RANGE } from '../../util/limits.js';
import type { BenchConfig } from '../../config/load.js';
import type { RedisCredentials } from '../../redis/connection.js';
import { benchFrom, numberFlag } from '../context.js';

interface WorkerFlags {
  queue?: string[];
  burst?: boolean;
  quiet?: boolean;
  strategy: DequeueStrategy;
  numWorkers: number;
  concurrency: number;
  watch?: boolean;
  rqUsername?: string;
  rqPassword?: string;
}

export function makeWorkerCommand(): Command {
  return addWorkerOptions(new Command('worker').description('run workers: a supervisor and --num-workers worker processes that claim and run jobs'), 1);
}

export function makeWorkerPoolCommand(): Command {
  return addWorkerOptions(new Command('worker-pool').description("Frappe's name for a worker with several children (default 2)"), 2);
}

/**
 * Commander parser for --queue: one or more queue names, comma-separated. An empty name ("", ",", "a,,b")
 * is a usage error: an empty list would otherwise mean every queue.
 */
function queueList(value: string): string[] {
  const names = value.split(',').map((q) => q.trim());
  if (names.some((name) => name === '')) {
    throw new BenchError('ERR_USAGE', `--queue needs queue names separated by commas, found ${quoted(value)}; leave --queue out to listen to every queue`, { exitCode: 2 });
  }
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new BenchError('ERR_USAGE', `--queue names ${quoted(twice)} twice, found ${quoted(value)}`, { exitCode: 2 });
  return names;
}

function addWorkerOptions(command: Command, defaultWorkers: number): Command {
  return command
    .option('--queue <queues>', 'comma-separated queues in priority order (default: all)', queueList)
    .option('--burst', 'exit 0 once every listened queue is empty')
    .option('--quiet', 'log warnings and errors only')
    .addOption(new Option('--strategy <strategy>', 'order of looking at several queues').choices(DEQUEUE_STRATEGIES).default('default'))
    .option('--num-workers <n>', 'worker processes (each runs --concurrency jobs at once)', numberFlag('--num-workers', WORKER_PROCESSES_RANGE), defaultWorkers)
    .option('--concurrency <n>', 'jobs one worker process runs at once', numberFlag('--concurrency', CONCURRENCY_RANGE), 1)
    .option('--watch', 'development: replace the worker processes when apps/ or site configs change')
    .option('-u, --rq-username <user>', 'Redis ACL user to log in as (overrides rq_username / use_rq_auth)')
    .option('-p, --rq-password <password>', "that user's password (overrides rq_password); kept out of ps, logs and the worker processes' argv")
    .action(async (flags: WorkerFlags, cmd: Command) => {
      if (flags.rqPassword !== undefined) maskInTitle(flags.rqPassword);
      const log = createLogger({ quiet: Boolean(flags.quiet), name: 'bench-worker' });
      const configured = benchFrom(cmd);
      const credentials = cliCredentials(configured, flags);
      // Before the worker processes start: they read bench_id from the config file themselves.
      const bench = await settleBenchId(configured, log, credentials);
      const supervisor = new Supervisor({
        bench,
        log,
        ...(flags.queue && { queues: flags.queue }),
        burst: Boolean(flags.burst),
        strategy: flags.strategy,
        numWorkers: flags.numWorkers,
        concurrency: flags.concurrency,
        watch: Boolean(flags.watch),
        ...(credentials && { credentials }),
      });
      const onSignal = (signal: NodeJS.Signals) => {
        log.info({ signal }, 'signal received');
        void supervisor.stop();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        await supervisor.run();
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}

/**
 * The credentials of -u / -p, completed as use_rq_auth would: -p alone logs in as rq_username (else the
 * bench id), -u alone with rq_password. Unlike Frappe's, they apply whether use_rq_auth is on or not: a
 * flag given is never silently ignored.
 */
function cliCredentials(bench: BenchConfig, flags: WorkerFlags): RedisCredentials | undefined {
  if (flags.rqUsername === undefined && flags.rqPassword === undefined) return undefined;
  return {
    username: flags.rqUsername ?? bench.settings.rq_username ?? bench.settings.bench_id,
    password: flags.rqPassword ?? bench.settings.rq_password,
  };
}

/**
 * Hide `secret` from this process's command line as `ps` and /proc/<pid>/cmdline show it: Node rewrites
 * the argv area with the title (it fits: the title is never longer than the command line it replaces).
 */
function maskInTitle(secret: string): void {
  if (secret === '') return;
  process.title = process.argv.map((arg) => arg.split(secret).join('***')).join(' ');
}
