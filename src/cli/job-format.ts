// Plain-text rendering of job records and tables for the monitoring commands (the --json output is
// the records themselves). Every value is printed with its control characters escaped: an id, name or
// error holding an escape sequence or a newline must not drive the terminal or break a table's rows.
import { printable } from '../util/text.js';
import type { SerializedError, JobRecord } from '../vocabulary.js';
import type { WorkerInfo } from '../monitor/workers.js';

/** Epoch ms as an ISO time, or "-". */
export function time(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) || ms <= 0 ? '-' : new Date(ms).toISOString();
}

/** Left-aligned columns separated by two spaces; cells are made printable on one line. */
export function table(headers: readonly string[], cells: readonly (readonly string[])[]): string {
  const rows = cells.map((row) => row.map((cell) => printable(cell)));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** The line that says a listing was cut: how many were left out, and the flag that shows them. */
export function moreLine(left: number, flags: string): string {
  return `… and ${left} more; use ${flags}`;
}

/** One line per job: id, queue, status, method, created, ended. */
export function jobTable(jobs: readonly JobRecord[]): string {
  return table(
    ['ID', 'QUEUE', 'STATUS', 'METHOD', 'CREATED', 'ENDED'],
    jobs.map((job) => [job.id, job.queue, job.status, job.method, time(job.createdAt), time(job.endedAt)]),
  );
}

/** One line per live worker process, as Frappe's RQ Worker list: its utilization among them. */
export function workerTable(workers: readonly WorkerInfo[]): string {
  return table(
    ['NAME', 'QUEUES', 'STATE', 'JOBS', 'OK', 'FAILED', 'WORKING', 'UTILIZATION', 'BORN'],
    workers.map((w) => [
      w.name,
      w.queues.join(','),
      w.state,
      w.currentJobs.length === 0 ? '-' : w.currentJobs.join(','),
      String(w.successfulJobCount),
      String(w.failedJobCount),
      `${w.totalWorkingTime.toFixed(1)} s`,
      `${w.utilizationPercent.toFixed(1)}%`,
      time(w.birth),
    ]),
  );
}

/** Every field of a job, then its kwargs, result, error with stack, and earlier errors. */
export function jobDetails(job: JobRecord): string {
  const fields: [string, string | undefined][] = [
    ['id', job.id],
    ['site', job.site],
    ['queue', job.queue],
    ['method', job.method],
    ['name', job.jobName === job.method ? undefined : job.jobName],
    ['status', job.status],
    ['user', job.user],
    ['event', job.event],
    ['timeout', `${job.timeout} s`],
    ['created', time(job.createdAt)],
    ['scheduled for', job.runAt === undefined ? undefined : time(job.runAt)],
    ['started', job.startedAt === undefined ? undefined : time(job.startedAt)],
    ['ended', job.endedAt === undefined ? undefined : time(job.endedAt)],
    ['attempts', String(job.attempts)],
    ['crashes', job.stalls > 0 ? String(job.stalls) : undefined],
    ['worker', job.worker],
    ['kwargs', JSON.stringify(job.kwargs)],
    ['result', job.result === undefined ? undefined : JSON.stringify(job.result)],
  ];
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length)) + 1;
  const lines = shown.map(([k, v]) => `${`${k}:`.padEnd(width)} ${printable(v)}`);
  if (job.error) lines.push(`error:`, indent(errorText(job.error)));
  job.errors.forEach((err, i) => lines.push(`earlier error ${i + 1}:`, indent(errorText(err))));
  return lines.join('\n');
}

function errorText(err: SerializedError): string {
  const head = `${err.name}${err.code ? ` [${err.code}]` : ''}: ${err.message}`;
  // A stack starts with "Name: message" already; show it whole when there is one.
  const text = err.stack && err.stack.includes(err.message) ? `${err.code ? `[${err.code}] ` : ''}${err.stack}` : head;
  return printable(text, { multiline: true });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
