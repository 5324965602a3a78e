// `bench queue pause QUEUE`, `bench queue resume QUEUE` and `bench queue status`: stop workers claiming
// from a queue and let them again (monitor/pause.ts; enqueues and running jobs go on), and list the
// bench's queues with whether each is paused. A pause or resume is logged on stderr with the OS user who
// ran it; the result goes to stdout.
import os from 'node:os';
import { Command } from 'commander';
import { BenchClient } from '../../client.js';
import { getQueueSpec } from '../../config/load.js';
import { createLogger, logFormat } from '../../log/logger.js';
import type { PauseChange } from '../../monitor/pause.js';
import { pausedQueues } from '../../monitor/pause.js';
import { globals, withClient } from '../context.js';
import { table } from '../job-format.js';
import { printResult } from '../output.js';

interface JsonFlag {
  json?: boolean;
}

export function makeQueueCommand(): Command {
  const queue = new Command('queue').description('pause or resume claiming from a queue; status: which queues are paused');
  queue.addCommand(switchCommand('pause', 'stop workers claiming from QUEUE (enqueues, running jobs and due scheduled jobs go on)').exitOverride());
  queue.addCommand(switchCommand('resume', 'let workers claim from QUEUE again').exitOverride());
  queue.addCommand(statusCommand().exitOverride());
  return queue;
}

/** The OS user running this command: who a pause or resume is logged as. */
function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers).
    return process.env['USER'] ?? process.env['LOGNAME'] ?? `uid ${process.getuid?.() ?? 'unknown'}`;
  }
}

function switchCommand(action: 'pause' | 'resume', description: string): Command {
  return new Command(action)
    .description(description)
    .argument('<queue>', "one of the bench's queues")
    .option('--json', 'print JSON')
    .action(async (name: string, flags: JsonFlag, command: Command) => {
      const log = createLogger({ name: 'bench', destination: process.stderr, format: logFormat() });
      const client = await BenchClient.open({ benchPath: globals(command).benchPath, lazyConnect: true, log });
      try {
        getQueueSpec(client.bench, name);
        const by = osUser();
        const change = action === 'pause' ? await client.pauseQueue(name, by) : await client.resumeQueue(name, by);
        printResult(Boolean(flags.json), { ...change, by }, changeText(change));
      } finally {
        await client.close();
      }
    });
}

function changeText({ queue, paused, changed }: PauseChange): string {
  if (paused) return changed ? `Queue ${queue} paused: workers claim nothing from it until \`bench queue resume ${queue}\`` : `Queue ${queue} was paused already`;
  return changed ? `Queue ${queue} resumed` : `Queue ${queue} was not paused`;
}

function statusCommand(): Command {
  return new Command('status')
    .description("the bench's queues, each with whether it is paused")
    .option('--json', 'print JSON')
    .action(async (flags: JsonFlag, command: Command) => {
      await withClient(command, undefined, async (client) => {
        const paused = await pausedQueues(await client.connection(), client.bench);
        const queues = client.bench.queues.map(({ name }) => ({ queue: name, paused: paused.includes(name) }));
        printResult(Boolean(flags.json), queues, table(['QUEUE', 'PAUSED'], queues.map((q) => [q.queue, q.paused ? 'yes' : 'no'])));
      });
    });
}
