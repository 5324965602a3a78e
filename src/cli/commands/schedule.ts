// `bench schedule`: run the scheduler (src/scheduler/) until SIGTERM or SIGINT. Any number may run,
// on any machine of the bench: one holds the lease and ticks, the others wait to take over.
import { Command } from 'commander';
import { BenchClient } from '../../client.js';
import { createLogger } from '../../log/logger.js';
import { Scheduler } from '../../scheduler/scheduler.js';
import { globals } from '../context.js';

export function makeScheduleCommand(): Command {
  return new Command('schedule')
    .description('run the scheduler: enqueue the scheduler_events of every site (one ticking scheduler per bench)')
    .option('--quiet', 'log warnings and errors only')
    .action(async (flags: { quiet?: boolean }, command: Command) => {
      const log = createLogger({ quiet: Boolean(flags.quiet), name: 'bench-schedule' });
      const client = await BenchClient.open({ benchPath: globals(command).benchPath, log });
      const scheduler = new Scheduler(await client.schedulerEnv());
      const onSignal = (signal: NodeJS.Signals) => {
        log.info({ signal }, 'signal received');
        scheduler.stop();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        await scheduler.run();
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        await client.close();
      }
    });
}
