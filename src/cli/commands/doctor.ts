// `bench doctor`: workers online (in all and per queue) and jobs per queue, for the whole bench.
// Exits 1 when jobs wait on a queue that no live worker listens to, naming the queue.
import { Command } from 'commander';
import { BenchError } from '../../errors.js';
import { doctorReport, type DoctorReport } from '../../monitor/doctor.js';
import { BenchClient } from '../../client.js';
import { globals } from '../context.js';
import { table } from '../job-format.js';
import { printResult } from '../output.js';

export function makeDoctorCommand(): Command {
  return new Command('doctor')
    .description('bench health: workers online per queue and jobs per queue; exit 1 when jobs wait on a queue no live worker serves')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const client = await BenchClient.open({ benchPath: globals(command).benchPath, lazyConnect: true });
      try {
        const report = await doctorReport(await client.connection(), client.bench);
        printResult(Boolean(flags.json), report, formatDoctor(report));
        if (report.unserved.length > 0) {
          const waiting = report.queues
            .filter((q) => report.unserved.includes(q.queue))
            .map((q) => `"${q.queue}" (${q.queued} queued)`)
            .join(', ');
          const one = report.unserved.length === 1;
          throw new BenchError(
            'ERR_QUEUE_UNSERVED',
            `jobs wait in queue${one ? '' : 's'} ${waiting} but no live worker listens to ${one ? 'it' : 'them'}: start one (bench worker --queue ${report.unserved.join(',')})`,
            { details: { queues: report.unserved } },
          );
        }
      } finally {
        await client.close();
      }
    });
}

function formatDoctor(report: DoctorReport): string {
  const rows = report.queues.map((q) => [q.queue, String(q.workers), String(q.queued), String(q.scheduled), String(q.started), String(q.failed)]);
  return [
    `Workers online: ${report.workersOnline}`,
    '-----Queues-----',
    table(['QUEUE', 'WORKERS', 'QUEUED', 'SCHEDULED', 'RUNNING', 'FAILED'], rows),
  ].join('\n');
}
