// `bench doctor`: workers online (in all and per queue) and jobs per queue, for the whole bench, and a
// warning for each other bench namespace on the Redis holding jobs that no live worker serves (another
// bench's, stopped; or this one's from before a move). Exits 1 when jobs wait on a queue that no live
// worker listens to, naming the queue; or when the jobs of the id this bench's path gives (the old
// default) wait while the bench uses another id: clearly its own jobs, left behind. Other benches'
// namespaces only warn: they are not this bench's to fix.
import { Command } from 'commander';
import { BenchError } from '../../errors.js';
import { doctorReport, type DoctorReport } from '../../monitor/doctor.js';
import { schedulerHealth, type SchedulerHealth } from '../../scheduler/health.js';
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
        const scheduler = await schedulerHealth(await client.connection(), client.bench);
        printResult(Boolean(flags.json), { ...report, scheduler }, `${formatDoctor(report)}\n${formatScheduler(scheduler)}`);
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
        const own = report.orphaned.find((o) => o.thisBenchPath);
        if (own) {
          throw new BenchError(
            'ERR_BENCH_ORPHANED',
            `${own.jobs} job(s) of this bench wait under its path-derived id "${own.benchId}", but it uses bench_id "${client.bench.settings.bench_id}": set bench_id to "${own.benchId}" in ${client.bench.commonConfigFile} to serve them (or remove them)`,
            { details: { benchId: own.benchId, jobs: own.jobs, currentBenchId: client.bench.settings.bench_id } },
          );
        }
      } finally {
        await client.close();
      }
    });
}

function formatScheduler(health: SchedulerHealth): string {
  const holder = health.holder === undefined ? 'none: no `bench schedule` holds the lease' : `${health.holder.host} pid ${health.holder.pid}`;
  return [
    '-----Scheduler-----',
    `Holder: ${holder}`,
    `Last tick: ${health.lastTick === undefined ? 'never' : new Date(health.lastTick).toISOString()}`,
    ...health.inactiveSites.map((s) => `Scheduler ${s.status} for site ${s.site}`),
    ...health.problems.map((p) => `error: site ${p.site}: app "${p.app}", ${p.expression === undefined ? `event "${p.event}"` : `${p.event} "${p.expression}"`}: ${p.message}`),
  ].join('\n');
}

function formatDoctor(report: DoctorReport): string {
  const rows = report.queues.map((q) => [q.queue, String(q.workers), String(q.queued), String(q.scheduled), String(q.started), String(q.failed)]);
  return [
    `Workers online: ${report.workersOnline}`,
    '-----Queues-----',
    table(['QUEUE', 'WORKERS', 'QUEUED', 'SCHEDULED', 'RUNNING', 'FAILED'], rows),
    ...report.orphaned.map(
      (o) =>
        `warning: bench namespace "${o.benchId}" on this Redis holds ${o.jobs} queued/scheduled/running job(s) and no live worker` +
        (o.thisBenchPath ? " (this bench's path-derived id: its jobs from before bench_id was saved)" : ' (another bench, stopped; or this one before it moved: then set its bench_id)'),
    ),
  ].join('\n');
}
