// `bench --site S stop-job JOB_ID`: kill the child running a job; the job ends as `stopped` and the
// rest of its worker carries on.
import { Command } from 'commander';
import { BenchClient } from '../../client.js';
import { globals, requireSite } from '../context.js';
import { printResult } from '../output.js';

export function makeStopJobCommand(): Command {
  return new Command('stop-job')
    .description('stop a running job of --site (its child process is killed; the job ends as stopped)')
    .argument('<job-id>', 'the job id (with or without the "SITE||" prefix)')
    .option('--json', 'print JSON')
    .action(async (jobId: string, flags: { json?: boolean }, command: Command) => {
      const site = requireSite(command);
      const client = await BenchClient.open({ benchPath: globals(command).benchPath });
      try {
        const job = await client.stopJob(site, jobId);
        printResult(Boolean(flags.json), { id: job.id, status: job.status }, `${job.id} ${job.status}`);
      } finally {
        await client.close();
      }
    });
}
