// The `bench` command line: global options, one subcommand per file, and the single place where
// errors become messages and exit codes (and where a closed stdout stops being an error).
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { LOG_FORMAT_ENV, LOG_FORMATS, logFormat } from '../log/log-format.js';
import { makeEnqueueCommand } from './commands/enqueue.js';
import { makeStartCommand } from './commands/start.js';
import { makeSetupCommand } from './commands/setup.js';
import { makeCreateRqUsersCommand } from './commands/create-rq-users.js';
import { makeStopJobCommand } from './commands/stop-job.js';
import { makeWorkerCommand, makeWorkerPoolCommand } from './commands/worker.js';
import { makeDoctorCommand } from './commands/doctor.js';
import { makeJobsCommand } from './commands/jobs.js';
import { makeQueueCommand } from './commands/queue.js';
import { dashboardCommand } from './commands/dashboard.js';
import { makeReadyForMigrationCommand, makeShowPendingJobsCommand } from './commands/site-jobs.js';
import { makePurgeJobsCommand } from './commands/purge-jobs.js';
import { makeExecuteCommand } from './commands/execute.js';
import { makeSetMaintenanceModeCommand } from './commands/maintenance.js';
import { makeScheduleCommand } from './commands/schedule.js';
import { makeDisableSchedulerCommand, makeEnableSchedulerCommand, makeSchedulerCommand, makeTriggerSchedulerEventCommand } from './commands/scheduler.js';
import { makeInitCommand } from './commands/init.js';
import { makeNewSiteCommand } from './commands/new-site.js';
import { makeNewAppCommand } from './commands/new-app.js';
import { makeCompletionCommand } from './commands/completion.js';
import { addHelpExamples } from './help-examples.js';
import { quietOnClosedPipe, reportError } from './output.js';

/** This package's version (package.json, two folders up from src/cli/ and dist/cli/). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export function makeProgram(): Command {
  const program = new Command('bench')
    .description('Frappe-style background jobs on Redis: enqueue jobs, run workers')
    .version(packageVersion(), '-V, --version', 'print the version of bench-worker')
    .option('--bench-path <dir>', 'bench folder (default: the current folder or its nearest parent holding sites/)')
    .option('--site <site>', 'site of site-scoped commands; "all": every site, where a command takes it; default: $FRAPPE_SITE, $BENCH_SITE, sites/currentsite.txt, then default_site')
    .addOption(new Option('--log-format <format>', 'log lines: pretty (default on a terminal) or json (default elsewhere)').choices(LOG_FORMATS))
    .hook('preAction', (cli) => {
      // Exported, so that the processes this one starts (worker processes, bench start's) log alike.
      process.env[LOG_FORMAT_ENV] = (cli.opts() as { logFormat?: string }).logFormat ?? logFormat();
    })
    .showHelpAfterError()
    .exitOverride();
  for (const command of [makeWorkerCommand(), makeWorkerPoolCommand(), makeEnqueueCommand(), makeStopJobCommand(), makeStartCommand(), makeSetupCommand(), makeCreateRqUsersCommand(), makeDoctorCommand(), makeShowPendingJobsCommand(), makePurgeJobsCommand(), makeReadyForMigrationCommand(), makeJobsCommand(), makeQueueCommand(), dashboardCommand(), makeScheduleCommand(), makeSchedulerCommand(), makeEnableSchedulerCommand(), makeDisableSchedulerCommand(), makeTriggerSchedulerEventCommand(), makeExecuteCommand(), makeSetMaintenanceModeCommand(), makeInitCommand(), makeNewSiteCommand(), makeNewAppCommand(), makeCompletionCommand()]) {
    program.addCommand(command.exitOverride());
  }
  addHelpExamples(program);
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
