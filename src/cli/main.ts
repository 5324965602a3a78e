// The `bench` command line: global options, one subcommand per file, and the single place where
// errors become messages and exit codes (and where a closed stdout stops being an error).
import { Command } from 'commander';
import { makeEnqueueCommand } from './commands/enqueue.js';
import { makeStartCommand } from './commands/start.js';
import { makeSetupCommand } from './commands/setup.js';
import { makeCreateRqUsersCommand } from './commands/create-rq-users.js';
import { makeStopJobCommand } from './commands/stop-job.js';
import { makeWorkerCommand, makeWorkerPoolCommand } from './commands/worker.js';
import { makeDoctorCommand } from './commands/doctor.js';
import { makeJobsCommand } from './commands/jobs.js';
import { makeReadyForMigrationCommand, makeShowPendingJobsCommand } from './commands/site-jobs.js';
import { makePurgeJobsCommand } from './commands/purge-jobs.js';
import { makeExecuteCommand } from './commands/execute.js';
import { makeSetMaintenanceModeCommand } from './commands/maintenance.js';
import { makeScheduleCommand } from './commands/schedule.js';
import { makeDisableSchedulerCommand, makeEnableSchedulerCommand, makeSchedulerCommand, makeTriggerSchedulerEventCommand } from './commands/scheduler.js';
import { quietOnClosedPipe, reportError } from './output.js';

export function makeProgram(): Command {
  const program = new Command('bench')
    .description('Frappe-style background jobs on Redis: enqueue jobs, run workers')
    .option('--bench-path <dir>', 'bench folder (default: the current folder or its nearest parent holding sites/)')
    .option('--site <site>', 'site of site-scoped commands; "all": every site, where a command takes it; default: $FRAPPE_SITE, $BENCH_SITE, sites/currentsite.txt, then default_site')
    .showHelpAfterError()
    .exitOverride();
  for (const command of [makeWorkerCommand(), makeWorkerPoolCommand(), makeEnqueueCommand(), makeStopJobCommand(), makeStartCommand(), makeSetupCommand(), makeCreateRqUsersCommand(), makeDoctorCommand(), makeShowPendingJobsCommand(), makePurgeJobsCommand(), makeReadyForMigrationCommand(), makeJobsCommand(), makeScheduleCommand(), makeSchedulerCommand(), makeEnableSchedulerCommand(), makeDisableSchedulerCommand(), makeTriggerSchedulerEventCommand(), makeExecuteCommand(), makeSetMaintenanceModeCommand()]) {
    program.addCommand(command.exitOverride());
  }
  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  quietOnClosedPipe(process.stdout);
  quietOnClosedPipe(process.stderr);
  try {
    await makeProgram().parseAsync([...argv]);
    return 0;
  } catch (err) {
    return reportError(err, argv.includes('--json'));
  }
}
