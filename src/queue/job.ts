// The job record: its wire shape in Redis (a hash of short string fields) and the one function that
// parses it back. Nothing else reads job hash fields by name.
import type { SerializedError } from '../errors.js';

/** scheduled: waiting in the delayed set (enqueueIn/enqueueAt, or a retry after an error). */
export type JobStatus = 'queued' | 'started' | 'finished' | 'failed' | 'stopped' | 'scheduled' | 'canceled';

export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'started', 'finished', 'failed', 'stopped', 'scheduled', 'canceled'];

/** Separator between site and id in a job id, as Frappe has it: `site||id`. */
export const SITE_SEPARATOR = '||';

export interface JobRecord {
  /** Full, site-namespaced id: `<site>||<id>`. */
  id: string;
  site: string;
  queue: string;
  /** Dotted path of the function to run, e.g. `myapp.tasks.process_data`. */
  method: string;
  /** Display name (Frappe's job_name); defaults to the method. */
  jobName: string;
  kwargs: unknown;
  /** Seconds the job may run before it is killed. */
  timeout: number;
  user: string | undefined;
  status: JobStatus;
  /** Epoch ms, Redis clock. */
  createdAt: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
  /** How many times a worker claimed it. */
  attempts: number;
  /** How many times its executor died under it. */
  stalls: number;
  worker: string | undefined;
  result: unknown;
  error: SerializedError | undefined;
  resultTtl: number;
  failureTtl: number;
  /** Frappe's `event` (purge-jobs --event filters on it). */
  event: string | undefined;
  onSuccess: string | undefined;
  onFailure: string | undefined;
  /** enqueueDoc target. */
  doctype: string | undefined;
  docname: string | undefined;
  /** When a scheduled job is due (epoch ms). */
  runAt: number | undefined;
  /** Errors of earlier attempts that were retried (oldest first). */
  errors: SerializedError[];
}

/** Hash fields written at enqueue time that are the same for every job of one enqueue call. */
export interface EnqueueFields {
  site: string;
  queue: string;
  method: string;
  jobName: string;
  timeout: number;
  user: string | undefined;
  resultTtl: number;
  failureTtl: number;
  event?: string | undefined;
  onSuccess?: string | undefined;
  onFailure?: string | undefined;
  doctype?: string | undefined;
  docname?: string | undefined;
  /** JSON of the retry policy, when the job has one. */
  retry?: string | undefined;
}

export function enqueueFieldPairs(fields: EnqueueFields): string[] {
  const pairs = [
    'site', fields.site,
    'queue', fields.queue,
    'method', fields.method,
    'timeout', String(fields.timeout),
    'rttl', String(fields.resultTtl),
    'fttl', String(fields.failureTtl),
  ];
  if (fields.jobName !== fields.method) pairs.push('name', fields.jobName);
  if (fields.user !== undefined) pairs.push('user', fields.user);
  for (const key of ['event', 'onSuccess', 'onFailure', 'doctype', 'docname', 'retry'] as const) {
    const value = fields[key];
    if (value !== undefined) pairs.push(key, value);
  }
  return pairs;
}

/** Parse a job hash (as a flat [field, value, ...] list or an object) into a JobRecord. */
export function jobFromHash(id: string, hash: Record<string, string> | readonly string[]): JobRecord {
  const h = Array.isArray(hash) ? pairsToObject(hash as readonly string[]) : (hash as Record<string, string>);
  const method = h['method'] ?? '';
  return {
    id,
    site: h['site'] ?? siteOf(id),
    queue: h['queue'] ?? '',
    method,
    jobName: h['name'] ?? method,
    kwargs: parseJson(h['kwargs'], {}),
    timeout: Number(h['timeout'] ?? 0),
    user: h['user'],
    status: (h['status'] ?? 'queued') as JobStatus,
    createdAt: Number(h['created'] ?? 0),
    startedAt: optionalNumber(h['started']),
    endedAt: optionalNumber(h['ended']),
    attempts: Number(h['attempts'] ?? 0),
    stalls: Number(h['stalls'] ?? 0),
    worker: h['worker'],
    result: parseJson(h['result'], undefined),
    error: parseJson(h['error'], undefined) as SerializedError | undefined,
    resultTtl: Number(h['rttl'] ?? 0),
    failureTtl: Number(h['fttl'] ?? 0),
    event: h['event'],
    onSuccess: h['onSuccess'],
    onFailure: h['onFailure'],
    doctype: h['doctype'],
    docname: h['docname'],
    runAt: optionalNumber(h['runAt']),
    errors: (parseJson(h['errors'], []) as SerializedError[]) ?? [],
  };
}

export function siteOf(jobId: string): string {
  const at = jobId.indexOf(SITE_SEPARATOR);
  return at === -1 ? '' : jobId.slice(0, at);
}

/** Frappe's create_job_id: `site||id`, with ":" in a user id replaced by "|". */
export function namespacedJobId(site: string, id: string): string {
  return `${site}${SITE_SEPARATOR}${id.replaceAll(':', '|')}`;
}

/** A flat Redis reply [field, value, ...] as an object. */
export function pairsToObject(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) out[pairs[i] as string] = pairs[i + 1] as string;
  return out;
}

function parseJson(text: string | undefined, fallback: unknown): unknown {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function optionalNumber(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}
