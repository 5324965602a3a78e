// Plain-text rendering of job records and tables for the monitoring commands (the --json output is
// the records themselves). Every value is printed with its control characters escaped: an id, name or
// error holding an escape sequence or a newline must not drive the terminal or break a table's rows.
import { printable, truncate } from '../util/text.js';
import type { SerializedError, JobRecord } from '../vocabulary.js';
import type { WorkerInfo } from '../monitor/workers.js';
import type { SiteLoad } from '../monitor/site-load.js';

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

/** Queued and running jobs per site of each queue: one row per queue and site (`none` when no site has any). */
export function siteLoadTable(queues: readonly { queue: string; bySite: Record<string, SiteLoad> }[]): string {
  const rows = queues.flatMap(({ queue, bySite }) => Object.entries(bySite).map(([site, load]) => [queue, site, String(load.queued), String(load.started)]));
  return rows.length === 0 ? 'no queued or running jobs' : table(['QUEUE', 'SITE', 'QUEUED', 'RUNNING'], rows);
}

/** The line that says a listing was cut: how many were left out, and the flag that shows them. */
export function moreLine(left: number, flags: string): string {
  return `… and ${left} more; use ${flags}`;
}

/** Characters of an error shown in a job list (the whole error is in `jobs show`). */
export const LIST_ERROR_WIDTH = 100;

/**
 * One line per job. Failed and stopped jobs: id, queue, method, ended, and the error on one line
 * (`Name [CODE]: message`, cut at LIST_ERROR_WIDTH). Scheduled jobs: id, queue, method, when each runs
 * and how soon. Others: id, queue, status, method, created, ended.
 */
export function jobTable(jobs: readonly JobRecord[], status?: string, now = Date.now()): string {
  if (status === 'failed' || status === 'stopped') {
    return table(
      ['ID', 'QUEUE', 'METHOD', 'ENDED', 'ERROR'],
      jobs.map((job) => [job.id, job.queue, job.method, time(job.endedAt), job.error ? errorLine(job.error) : '-']),
    );
  }
  if (status === 'scheduled') {
    return table(
      ['ID', 'QUEUE', 'METHOD', 'RUNS AT', 'IN', 'CREATED'],
      jobs.map((job) => [job.id, job.queue, job.method, time(job.runAt), job.runAt === undefined ? '-' : untilText(job.runAt - now), time(job.createdAt)]),
    );
  }
  return table(
    ['ID', 'QUEUE', 'STATUS', 'METHOD', 'CREATED', 'ENDED'],
    jobs.map((job) => [job.id, job.queue, job.status, job.method, time(job.createdAt), time(job.endedAt)]),
  );
}

/** An error on one line: `Name [CODE]: message`, white space runs as one space, cut with "..." past `max`. */
export function errorLine(err: SerializedError, max = LIST_ERROR_WIDTH): string {
  const text = `${err.name}${err.code ? ` [${err.code}]` : ''}: ${err.message}`.replace(/\s+/g, ' ').trim();
  return truncate(text, max);
}

/** How long until a time: "due" when past, else "12s", "4m 10s", "3h 5m", "2d 4h". */
export function untilText(ms: number): string {
  if (ms <= 0) return 'due';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
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
