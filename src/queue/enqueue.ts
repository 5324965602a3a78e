// The enqueue pipeline behind BenchClient: turn options into the job's stored fields (validating
// everything first), then write jobs in pipelined batches through the atomic enqueue script.
import type { Redis } from 'ioredis';
import { getQueueSpec, listSites, type BenchConfig, type SiteConfig } from '../config/load.js';
import { BenchError, type BenchErrorCode } from '../errors.js';
import { methodPathOf } from '../jobs/function-path.js';
import { queueKeys } from '../redis/keys.js';
import { ScriptCode } from '../redis/codes.js';
import { runScript } from '../redis/scripts.js';
import { corkForThisTurn } from '../redis/cork.js';
import { enqueueFieldPairs, generatedJobId, namespacedJobId, type EnqueueFields } from './job.js';
import { checkPayloadSize, kwargsToJson } from './payload.js';
import { retryPolicyJson, type RetryPolicy } from './retry.js';

/** A dotted path ("myapp.tasks.process_data") or a function exported by an app module. */
export type JobMethod = string | ((...args: never[]) => unknown);

/**
 * The kwargs a method takes: a function's first parameter (so that `tsc --strict` rejects wrong kwargs
 * when a job is enqueued by function reference), any JSON object for a dotted path.
 */
export type KwargsOf<M> = M extends (kwargs: infer K, ...rest: never[]) => unknown ? (K extends object ? K : Record<string, unknown>) : Record<string, unknown>;

export interface EnqueueOptions<K extends object = Record<string, unknown>> {
  /** Site the job runs for (required). */
  site: string;
  /** short | default | long | a custom queue from `workers`. Default: "default". */
  queue?: string;
  /** Seconds; default: the queue's timeout. */
  timeout?: number;
  /** Your id for the job; stored site-namespaced as `site||jobId`. Default: 22 random base64url characters starting with a letter. */
  jobId?: string;
  /** With jobId: skip (resolve to undefined) when a job with that id is queued, scheduled or running. */
  deduplicate?: boolean;
  /** Display name (Frappe's job_name). Default: the method path. */
  jobName?: string;
  /** Put the job at the front of its queue. */
  atFront?: boolean;
  /** Put the job at the front only when the queue holds more than 16 jobs (interactive jobs). */
  atFrontWhenStarved?: boolean;
  /** User the job runs as (ctx.user). */
  user?: string;
  /** Arguments passed to the method: a JSON object (typed from the method when it is a function). */
  kwargs?: K;
  /** Stored with the job (Frappe's event); `purge-jobs --event` filters on it. */
  event?: string;
  /** Run after the job succeeds / fails, in the worker: (job, result) / (job, error). */
  onSuccess?: JobMethod;
  onFailure?: JobMethod;
  /** Run the job this many seconds from now (enqueueIn). */
  inSeconds?: number;
  /** Run the job at this time (enqueueAt). */
  at?: Date;
  /** Schedule a failed job again: a number of retries (exponential backoff) or a policy. */
  retry?: number | RetryPolicy;
  /** enqueueDoc: the document whose controller method `method` names. */
  doc?: { doctype: string; name: string };
  /** Run inline in the caller (no Redis) and resolve to the method's result (Frappe's now=True). */
  now?: boolean;
  /** false: the same as now (Frappe's is_async=False). */
  isAsync?: boolean;
}

export type EnqueueManyOptions = Omit<EnqueueOptions, 'kwargs' | 'jobId' | 'deduplicate' | 'now' | 'isAsync'> & {
  /** How an error names entry `index` (0-based) of the list: `entry N` by default (the CLI says `file: line L`). */
  describeEntry?: (index: number) => string;
};

/** Frappe's QUEUE_STARVATION_THRESHOLD. */
export const STARVATION_THRESHOLD = 16;
/** Jobs per enqueue script call at most. */
const BATCH_SIZE = 1000;
/**
 * Payload bytes per script call at most (one larger job goes alone): Redis runs a script to its end,
 * so a call carrying hundreds of MiB would stall every other client for seconds.
 */
const BATCH_BYTES = 1024 * 1024;
const MAX_BATCHES_IN_FLIGHT = 8;

export interface PreparedEnqueue {
  fields: EnqueueFields;
  site: SiteConfig;
  delayMs: number;
}

export function requireSite(bench: BenchConfig, site: string | undefined): string {
  if (typeof site !== 'string' || site.length === 0) {
    throw new BenchError('ERR_ENQUEUE_INVALID', `enqueue needs a site (sites of this bench: ${listSites(bench).join(', ') || 'none'})`);
  }
  return site;
}

/**
 * Checks a dotted method path for a site: its module file exists, and with `verify` it exports that
 * function (a cached resolveMethodFile / loadMethod). Throws ERR_JOB_LOAD or ERR_APP_NOT_INSTALLED.
 */
export type MethodChecker = (site: SiteConfig, method: string, verify: boolean) => Promise<void> | undefined;

/** Validate the options of one enqueue call and work out the fields every job of it stores. */
export async function prepareEnqueue(
  bench: BenchConfig,
  site: SiteConfig,
  method: JobMethod,
  options: EnqueueManyOptions,
  verifyMethod: boolean,
  check: MethodChecker,
): Promise<PreparedEnqueue> {
  const queue = getQueueSpec(bench, options.queue ?? 'default');
  const resolvePath = (m: JobMethod, verify: boolean, what: string): Promise<string> | string => resolveMethodPath(bench, site, m, verify, what, check);
  const methodPath = await resolvePath(method, verifyMethod && options.doc === undefined, 'method');
  const timeout = positiveSeconds(options.timeout ?? queue.timeout, 'timeout', 'ERR_ENQUEUE_INVALID');
  if (options.event !== undefined && (typeof options.event !== 'string' || options.event === '')) {
    throw new BenchError('ERR_ENQUEUE_INVALID', 'event must be a non-empty string');
  }
  return {
    site,
    delayMs: delayOf(options),
    fields: {
      site: site.site,
      queue: queue.name,
      method: methodPath,
      jobName: options.jobName ?? methodPath,
      timeout,
      user: options.user,
      failureTtl: site.settings.rq_job_failure_ttl === bench.settings.rq_job_failure_ttl ? undefined : site.settings.rq_job_failure_ttl,
      event: options.event,
      onSuccess: options.onSuccess === undefined ? undefined : await resolvePath(options.onSuccess, verifyMethod, 'onSuccess'),
      onFailure: options.onFailure === undefined ? undefined : await resolvePath(options.onFailure, verifyMethod, 'onFailure'),
      doctype: options.doc?.doctype,
      docname: options.doc?.name,
      retry: retryPolicyJson(options.retry),
    },
  };
}

/** Serialise and size-check every kwargs entry before anything is written. */
export function preparePayloads(
  kwargsList: readonly (Record<string, unknown> | undefined)[],
  prepared: PreparedEnqueue,
  describeEntry: (index: number) => string = (index) => `entry ${index + 1}`,
): string[] {
  const single = kwargsList.length === 1;
  return kwargsList.map((kwargs, i) => {
    const where = single ? `enqueue ${prepared.fields.method}` : describeEntry(i);
    const json = kwargsToJson(kwargs, where);
    checkPayloadSize(json, prepared.site.settings.max_job_payload_bytes, where);
    return json;
  });
}

export interface WriteOptions {
  atFront: boolean;
  atFrontWhenStarved: boolean;
  /**
   * Queue length not to pass (0 = none). The whole request must fit: the first call is refused, and
   * nothing written, when the queue plus every job of the request would pass it; each later call checks
   * that the rest still fits (another producer may have filled the queue meanwhile).
   */
  maxQueued: number;
  deduplicate: boolean;
  userIds: readonly string[] | undefined;
}

/** Write the jobs; resolves to their ids, undefined where a duplicate was skipped (deduplicate). */
export async function writeJobs(redis: Redis, bench: BenchConfig, prepared: PreparedEnqueue, payloads: readonly string[], options: WriteOptions): Promise<(string | undefined)[]> {
  const { fields } = prepared;
  const site = fields.site;
  const ids = payloads.map((_, i) => (options.userIds?.[i] === undefined ? `${site}||${generatedJobId()}` : namespacedJobId(site, options.userIds[i] as string)));
  const nonces = payloads.map((_, i) => (options.userIds?.[i] === undefined ? '' : generatedJobId()));
  const keys = queueKeys(bench.settings.bench_id, fields.queue);
  const common = enqueueFieldPairs(fields);
  const batches = batchesOf(payloads);
  // At the front, the last batch goes first so the whole list keeps its order at the head.
  if (options.atFront) batches.reverse();
  const accepted: boolean[] = ids.map(() => true);
  let inFlight: Promise<void>[] = [];
  const all: Promise<void>[] = [];
  let incoming = ids.length;
  for (const [n, { start, end }] of batches.entries()) {
    const head = [
      options.atFront ? '1' : '0',
      String(options.maxQueued),
      String(incoming),
      String(options.atFrontWhenStarved ? STARVATION_THRESHOLD : 0),
      String(prepared.delayMs),
      String(common.length / 2),
      ...common,
    ];
    const jobKeys: string[] = [];
    const args: string[] = [...head];
    for (let i = start; i < end; i++) {
      jobKeys.push(keys.job(ids[i] as string));
      args.push(ids[i] as string, payloads[i] as string, nonces[i] as string);
    }
    corkForThisTurn(redis);
    const batchIncoming = incoming;
    incoming -= end - start;
    const call = runScript(redis, 'enqueue', [keys.wait, keys.marker, keys.finished, keys.failed, keys.delayed, ...jobKeys], args).then((reply) => {
      readReply(reply, ids, start, options, fields.queue, batchIncoming).forEach((ok, i) => (accepted[start + i] = ok));
    });
    // The first batch carries the queue-size check: nothing else goes out before it answered.
    if (n === 0 && options.maxQueued > 0) await call;
    all.push(call);
    inFlight.push(call);
    if (inFlight.length >= MAX_BATCHES_IN_FLIGHT) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(all);
  return ids.map((id, i) => (accepted[i] ? id : undefined));
}

/** Consecutive [start, end) ranges of at most BATCH_SIZE jobs and BATCH_BYTES of payload (a larger job alone). */
function batchesOf(payloads: readonly string[]): { start: number; end: number }[] {
  const batches: { start: number; end: number }[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < payloads.length; i++) {
    const size = Buffer.byteLength(payloads[i] as string);
    if (i > start && (i - start >= BATCH_SIZE || bytes + size > BATCH_BYTES)) {
      batches.push({ start, end: i });
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (payloads.length > start) batches.push({ start, end: payloads.length });
  return batches;
}

function readReply(reply: unknown, ids: readonly string[], start: number, options: WriteOptions, queue: string, incoming: number): boolean[] {
  const codes = reply as number[];
  if (codes[0] === ScriptCode.QUEUE_FULL) {
    const more = incoming === 1 ? '' : `, and ${incoming} more jobs do not fit`;
    throw new BenchError(
      'ERR_QUEUE_OVERLOADED',
      `queue "${queue}" is overloaded: ${String(codes[1])} jobs waiting, limit ${options.maxQueued} (max_queued_jobs + 50 per site)${more}; retry later`,
      { details: { queue, waiting: codes[1], limit: options.maxQueued, incoming } },
    );
  }
  return codes.map((code, i) => {
    if (code !== ScriptCode.JOB_EXISTS) return true;
    const id = ids[start + i] as string;
    if (options.deduplicate) return false;
    throw new BenchError('ERR_JOB_EXISTS', `job "${id}" is already queued, scheduled or running; nothing was enqueued for it (use deduplicate to skip quietly)`, {
      details: { jobId: id },
    });
  });
}

/** The dotted path of `method`, checked: its module file exists (and, with `verify`, exports it). Sync when it can be. */
function resolveMethodPath(bench: BenchConfig, site: SiteConfig, method: JobMethod, verify: boolean, what: string, check: MethodChecker): Promise<string> | string {
  if (typeof method === 'function') {
    return methodPathOf(method, bench.appsDir, site.installedApps).then((path) => resolveMethodPath(bench, site, path, verify, what, check));
  }
  if (typeof method !== 'string') throw new BenchError('ERR_ENQUEUE_INVALID', `${what} must be a dotted path or a function`);
  const checked = check(site, method, verify);
  return checked instanceof Promise ? checked.then(() => method) : method;
}

/** `value` when it is a finite number of seconds greater than 0; else `code`, naming `what` and the value found. */
export function positiveSeconds(value: unknown, what: string, code: BenchErrorCode): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  throw new BenchError(code, `${what} must be a number of seconds greater than 0, found ${String(value)}`);
}

function delayOf(options: EnqueueManyOptions): number {
  if (options.inSeconds !== undefined && options.at !== undefined) {
    throw new BenchError('ERR_ENQUEUE_INVALID', 'give either inSeconds (enqueueIn) or at (enqueueAt), not both');
  }
  if (options.inSeconds !== undefined) {
    if (!(Number.isFinite(options.inSeconds) && options.inSeconds >= 0)) {
      throw new BenchError('ERR_ENQUEUE_INVALID', `inSeconds must be seconds, 0 or more, found ${String(options.inSeconds)}`);
    }
    return Math.round(options.inSeconds * 1000);
  }
  if (options.at !== undefined) {
    const at = options.at instanceof Date ? options.at.getTime() : Number.NaN;
    if (!Number.isFinite(at)) throw new BenchError('ERR_ENQUEUE_INVALID', `at must be a valid Date, found ${String(options.at)}`);
    return Math.max(0, at - Date.now());
  }
  return 0;
}
