// The job record: its wire shape in Redis (a hash of short string fields) and the one function that
// parses it back. Nothing else reads job hash fields by name.
import { randomBytes } from 'node:crypto';
import type { SerializedError, JobRecord, JobStatus } from '../vocabulary.js';

export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'started', 'finished', 'failed', 'stopped', 'scheduled', 'canceled'];

/** Separator between site and id in a job id, as Frappe has it: `site||id`. */
export const SITE_SEPARATOR = '||';

/**
 * What every job of one enqueue call shares. `site` and `queue` are not stored in the hash: the id's
 * prefix and the key give them. The result TTL is not stored either: the worker reads it from the
 * site's config when the job ends; nor is a timeout equal to its queue's default (see queueTimeout).
 */
export interface EnqueueFields {
  site: string;
  queue: string;
  method: string;
  jobName: string;
  timeout: number;
  /** The queue's default timeout: `timeout` is stored only when it differs. */
  queueTimeout: number;
  user: string | undefined;
  /**
   * The site's rq_job_failure_ttl when it overrides the bench's (undefined: the bench's, not stored).
   * Scripts that end a job without its worker (abandoned, canceled) read it from the hash.
   */
  failureTtl?: number | undefined;
  event?: string | undefined;
  onSuccess?: string | undefined;
  onFailure?: string | undefined;
  doctype?: string | undefined;
  docname?: string | undefined;
  /** JSON of the retry policy, when the job has one. */
  retry?: string | undefined;
}

export function enqueueFieldPairs(fields: EnqueueFields): string[] {
  const pairs = ['method', fields.method];
  if (fields.timeout !== fields.queueTimeout) pairs.push('timeout', String(fields.timeout));
  if (fields.failureTtl !== undefined) pairs.push('fttl', String(fields.failureTtl));
  if (fields.jobName !== fields.method) pairs.push('name', fields.jobName);
  if (fields.user !== undefined) pairs.push('user', fields.user);
  for (const key of ['event', 'onSuccess', 'onFailure', 'doctype', 'docname', 'retry'] as const) {
    const value = fields[key];
    if (value !== undefined) pairs.push(key, value);
  }
  return pairs;
}

/**
 * The queue a job hash was read from: its name, and its default timeout (config/load.ts queueTimeout),
 * which a hash without a `timeout` field runs with.
 */
export interface RecordQueue {
  name: string;
  timeout: number;
}

/** Parse the hash of job `id` of `queue` (as a flat [field, value, ...] list or an object) into a JobRecord. */
export function jobFromHash(id: string, queue: RecordQueue, hash: Record<string, string> | readonly string[]): JobRecord {
  const h = Array.isArray(hash) ? pairsToObject(hash as readonly string[]) : (hash as Record<string, string>);
  return buildRecord(id, queue, (field) => h[field]);
}

/**
 * The hash fields a worker process's claim returns for each job (src/redis/lua/fetch.lua), in this
 * order: what running the job and recording its outcome need, and nothing else (its site is the prefix
 * of its id).
 */
export const CLAIM_FIELDS = [
  'method', 'kwargs', 'timeout', 'attempts', 'name', 'user', 'doctype', 'docname',
  'event', 'onSuccess', 'onFailure', 'retry', 'errors', 'retries',
] as const;

export type ClaimField = (typeof CLAIM_FIELDS)[number];
const CLAIM_INDEX = new Map<string, number>(CLAIM_FIELDS.map((field, i) => [field, i]));

/**
 * Parse a claimed job into a JobRecord: `values` holds CLAIM_FIELDS from `offset` on (false or null where
 * absent). The claim made it `started` by `worker`.
 */
export function jobFromClaim(id: string, queue: RecordQueue, values: readonly (string | false | null)[], offset: number, worker: string): JobRecord {
  const record = buildRecord(id, queue, (field) => {
    const at = CLAIM_INDEX.get(field);
    const value = at === undefined ? undefined : values[offset + at];
    return typeof value === 'string' ? value : undefined;
  });
  record.status = 'started';
  record.worker = worker;
  return record;
}

/**
 * The record of a job right after its claim, from what an enqueue call would store (for
 * enqueue({ now: true }), which runs the job in the caller without Redis).
 */
export function jobFromEnqueue(id: string, fields: EnqueueFields, kwargsJson: string, now = Date.now()): JobRecord {
  const hash = pairsToObject([...enqueueFieldPairs(fields), 'kwargs', kwargsJson, 'status', 'started', 'attempts', '1', 'enq', String(now), 'started', String(now)]);
  return buildRecord(id, { name: fields.queue, timeout: fields.queueTimeout }, (field) => hash[field]);
}

/**
 * The one parser of job fields: `get` reads a field of the hash. What enqueue-6.lua leaves out to keep a
 * queued job small: `kwargs` when empty, `timeout` when the queue's default. The enqueue time is `enq`
 * (`created` in records written before 0.2).
 */
function buildRecord(id: string, queue: RecordQueue, get: (field: string) => string | undefined): JobRecord {
  const method = get('method') ?? '';
  return {
    id,
    site: siteOf(id),
    queue: queue.name,
    method,
    jobName: get('name') ?? method,
    kwargs: parseJson(get('kwargs'), {}),
    timeout: Number(get('timeout') ?? queue.timeout),
    user: get('user'),
    status: (get('status') ?? 'queued') as JobStatus,
    createdAt: Number(get('enq') ?? get('created') ?? 0),
    startedAt: optionalNumber(get('started')),
    endedAt: optionalNumber(get('ended')),
    attempts: Number(get('attempts') ?? 0),
    stalls: Number(get('stalls') ?? 0),
    worker: get('worker'),
    result: parseJson(get('result'), undefined),
    error: parseJson(get('error'), undefined) as SerializedError | undefined,
    failureTtl: optionalNumber(get('fttl')),
    event: get('event'),
    onSuccess: get('onSuccess'),
    onFailure: get('onFailure'),
    doctype: get('doctype'),
    docname: get('docname'),
    runAt: optionalNumber(get('runAt')),
    errors: (parseJson(get('errors'), []) as SerializedError[]) ?? [],
    retry: get('retry'),
    retries: Number(get('retries') ?? 0),
  };
}

export function siteOf(jobId: string): string {
  const at = jobId.indexOf(SITE_SEPARATOR);
  return at === -1 ? '' : jobId.slice(0, at);
}

/**
 * Random bytes for generatedJobId, drawn 256 ids at a time (as crypto.randomUUID does): one randomBytes
 * call costs ~10 µs here, as much as a whole enqueue's own JavaScript. Each id still takes 16 fresh CSPRNG
 * bytes used once; a new pool Buffer each refill, so no id's bytes are ever reused.
 */
const ID_POOL_BYTES = 16 * 256;
let idPool = Buffer.alloc(0);
let idPoolAt = ID_POOL_BYTES;

/**
 * A generated job id: 127 random bits in 22 base64url characters (a UUID spells 122 in 36). The first
 * byte's top bit is cleared so the id starts with a letter (A-Z, a-f): an id starting with "-" would be
 * read as an option by `bench show <id>` and every other command that takes one.
 */
export function generatedJobId(): string {
  if (idPoolAt >= ID_POOL_BYTES) {
    idPool = randomBytes(ID_POOL_BYTES);
    idPoolAt = 0;
  }
  const at = idPoolAt;
  idPoolAt += 16;
  idPool[at] = (idPool[at] as number) & 0x7f;
  return idPool.toString('base64url', at, at + 16);
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
