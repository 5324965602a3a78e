// `bench --site S enqueue METHOD [...]`: put one job (or one per line of --kwargs-file) on a queue
// and print the job id(s).
import { Command } from 'commander';
import { BenchError, isBenchError } from '../../errors.js';
import { BenchClient } from '../../client.js';
import { SCHEDULE_RANGE, RETRIES_RANGE, WHOLE_TIMEOUT_RANGE } from '../../util/limits.js';
import { globals, numberFlag, requireSite } from '../context.js';
import { parseKwargsOption, readKwargsFile } from '../kwargs.js';
import { printResult } from '../output.js';

interface EnqueueFlags {
  queue: string;
  timeout?: number;
  kwargs?: string;
  kwargsFile?: string;
  jobId?: string;
  jobName?: string;
  atFront?: boolean;
  user?: string;
  json?: boolean;
  deduplicate?: boolean;
  atFrontWhenStarved?: boolean;
  in?: number;
  at?: Date;
  retry?: number;
  event?: string;
  resume?: string;
}

function isoTime(value: string): Date {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) {
    throw new BenchError('ERR_USAGE', `--at must be an ISO 8601 time such as 2026-12-01T09:00:00Z, found "${value}"`, { exitCode: 2 });
  }
  return at;
}

export function makeEnqueueCommand(): Command {
  return new Command('enqueue')
    .description('enqueue a job for --site: METHOD is a dotted path such as myapp.tasks.process_data')
    .argument('<method>', 'dotted path app.module.function')
    .option('-q, --queue <queue>', 'queue to put the job on', 'default')
    .option('-t, --timeout <seconds>', "job timeout (default: the queue's)", numberFlag('--timeout', WHOLE_TIMEOUT_RANGE))
    .option('--kwargs <json>', 'keyword arguments as a JSON object')
    .option('--kwargs-file <file>', 'one JSON object per line, one job each ("-" reads stdin)')
    .option('--job-id <id>', 'your id for the job (stored as SITE||ID)')
    .option('--job-name <name>', 'display name (default: the method)')
    .option('--at-front', 'put the job at the front of the queue')
    .option('--user <user>', 'user the job runs as')
    .option('--deduplicate', 'with --job-id: skip (exit 0, print nothing) when that job is already queued or running')
    .option('--at-front-when-starved', 'put the job at the front only when the queue holds more than 16 jobs')
    .option('--in <seconds>', 'run the job this many seconds from now', numberFlag('--in', SCHEDULE_RANGE))
    .option('--at <iso-time>', 'run the job at this time (ISO 8601, e.g. 2026-12-01T09:00:00Z)', isoTime)
    .option('--retry <n>', 'retry a failed job up to n times (exponential backoff with jitter)', numberFlag('--retry', RETRIES_RANGE))
    .option('--event <name>', 'event name stored with the job (purge-jobs --event filters on it)')
    .option('--resume <token>', 'with --kwargs-file: finish a run that stopped part way (its error gives the token); writes only the jobs it did not')
    .option('--json', 'print JSON')
    .action(async (method: string, flags: EnqueueFlags, command: Command) => {
      const site = requireSite(command);
      if (flags.kwargs !== undefined && flags.kwargsFile !== undefined) {
        throw new BenchError('ERR_USAGE', 'use either --kwargs or --kwargs-file, not both', { exitCode: 2 });
      }
      if (flags.resume !== undefined && flags.kwargsFile === undefined) {
        throw new BenchError('ERR_USAGE', '--resume finishes a --kwargs-file run: give the same --kwargs-file', { exitCode: 2 });
      }
      if (flags.kwargsFile !== undefined && flags.jobId !== undefined) {
        throw new BenchError('ERR_USAGE', '--job-id names one job; it cannot be used with --kwargs-file', { exitCode: 2 });
      }
      const kwargsFile = flags.kwargsFile !== undefined ? await readKwargsFile(flags.kwargsFile) : undefined;
      const kwargs = flags.kwargs !== undefined ? parseKwargsOption(flags.kwargs) : undefined;
      const client = await BenchClient.open({ benchPath: globals(command).benchPath, verifyMethod: true, lazyConnect: true });
      try {
        const options = {
          site,
          queue: flags.queue,
          ...(flags.timeout !== undefined && { timeout: flags.timeout }),
          ...(flags.jobName !== undefined && { jobName: flags.jobName }),
          ...(flags.atFront !== undefined && { atFront: flags.atFront }),
          ...(flags.user !== undefined && { user: flags.user }),
          ...(flags.atFrontWhenStarved !== undefined && { atFrontWhenStarved: flags.atFrontWhenStarved }),
          ...(flags.in !== undefined && { inSeconds: flags.in }),
          ...(flags.at !== undefined && { at: flags.at }),
          ...(flags.retry !== undefined && { retry: flags.retry }),
          ...(flags.event !== undefined && { event: flags.event }),
        };
        if (kwargsFile) {
          const started = Date.now();
          const ids = await client
            .enqueueManyJson(method, kwargsFile.list, { ...options, describeEntry: kwargsFile.describe, ...(flags.resume !== undefined && { resume: flags.resume }) })
            .catch((err: unknown) => {
              throw withResumeHint(err);
            });
          const seconds = (Date.now() - started) / 1000;
          const resumed = flags.resume === undefined ? '' : ` (resumed: ${kwargsFile.list.length - ids.length} were enqueued before)`;
          printResult(Boolean(flags.json), { count: ids.length, queue: flags.queue, seconds, ids }, `enqueued ${ids.length} jobs on ${flags.queue} in ${seconds.toFixed(2)} s${resumed}`);
        } else {
          if (flags.deduplicate && flags.jobId === undefined) {
            throw new BenchError('ERR_USAGE', '--deduplicate needs --job-id', { exitCode: 2 });
          }
          const id = await client.enqueue(method, {
            ...options,
            ...(kwargs && { kwargs }),
            ...(flags.jobId !== undefined && { jobId: flags.jobId }),
            ...(flags.deduplicate && { deduplicate: true }),
          });
          if (id === undefined) {
            process.stderr.write(`job "${flags.jobId ?? ''}" is already queued or running: not enqueued again (--deduplicate)\n`);
            if (flags.json) printResult(true, { id: null, skipped: true, queue: flags.queue }, '');
          } else {
            printResult(Boolean(flags.json), { id, queue: flags.queue }, id);
          }
        }
      } finally {
        await client.close();
      }
    });
}

/** A bulk enqueue cut short: its error, with how to resume it from the command line. */
function withResumeHint(err: unknown): unknown {
  if (!isBenchError(err) || err.code !== 'ERR_ENQUEUE_INCOMPLETE') return err;
  const { resumeToken: token, summary } = err.details;
  if (typeof token !== 'string' || typeof summary !== 'string') return err;
  const hint = `Once the cause is fixed, run this same command with --resume ${token} (kept 24 h): it enqueues exactly the lines not yet enqueued.`;
  return new BenchError('ERR_ENQUEUE_INCOMPLETE', `${summary} ${hint}`, { cause: err.cause, details: err.details });
}
