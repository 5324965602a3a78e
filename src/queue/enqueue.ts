// The enqueue pipeline behind BenchClient: turn options into the job's stored fields and payloads,
// validating everything before a single write (./write-jobs.ts then writes them).
import { getQueueSpec, listSites, type BenchConfig, type SiteConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import { checkRange, SCHEDULE_RANGE, JOB_TIMEOUT_RANGE } from '../util/limits.js';
import { methodPathOf } from '../jobs/function-path.js';
import { resolveMethodFile } from '../jobs/loader.js';
import type { EnqueueFields } from '../redis/job-record.js';
import { checkJobId } from './job-id.js';
import { checkPayloadSize, kwargsToJson } from './payload.js';
import { retryPolicyJson } from './retry.js';
import type { EnqueueManyOptions, EnqueueOptions, JobMethod, RetryPolicy } from '../vocabulary.js';

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
  const timeout = checkRange(options.timeout ?? queue.timeout, 'timeout', JOB_TIMEOUT_RANGE, 'ERR_ENQUEUE_INVALID');
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
      queueTimeout: queue.timeout,
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

/** JSON payloads given as text (already checked to be JSON objects): only their size is checked. */
export function checkPayloadSizes(payloads: readonly string[], prepared: PreparedEnqueue, describeEntry: (index: number) => string): readonly string[] {
  const limit = prepared.site.settings.max_job_payload_bytes;
  payloads.forEach((json, i) => checkPayloadSize(json, limit, describeEntry(i)));
  return payloads;
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

function delayOf(options: EnqueueManyOptions): number {
  if (options.inSeconds !== undefined && options.at !== undefined) {
    throw new BenchError('ERR_ENQUEUE_INVALID', 'give either inSeconds (enqueueIn) or at (enqueueAt), not both');
  }
  if (options.inSeconds !== undefined) {
    return Math.round(checkRange(options.inSeconds, 'inSeconds', SCHEDULE_RANGE, 'ERR_ENQUEUE_INVALID') * 1000);
  }
  if (options.at !== undefined) {
    const at = options.at instanceof Date ? options.at.getTime() : Number.NaN;
    if (!Number.isFinite(at)) throw new BenchError('ERR_ENQUEUE_INVALID', `at must be a valid Date, found ${String(options.at)}`);
    const delayMs = Math.max(0, at - Date.now());
    if (delayMs > SCHEDULE_RANGE.max * 1000) {
      throw new BenchError('ERR_ENQUEUE_INVALID', `at must be at most ${SCHEDULE_RANGE.maxNote ?? `${SCHEDULE_RANGE.max} s`} ahead, found ${options.at.toISOString()}`);
    }
    return delayMs;
  }
  return 0;
}

/**
 * The checks enqueueAfterCommit makes before the commit: the job id (when given) is valid, the kwargs are
 * JSON, the queue exists, and a dotted method's module file exists (in one of `installedApps`, when given).
 */
export function checkEnqueueRequest(bench: BenchConfig, method: JobMethod, options: Partial<EnqueueOptions>, installedApps: readonly string[] | undefined): void {
  if (options.jobId !== undefined) checkJobId(options.jobId, 'ERR_ENQUEUE_INVALID', 'jobId');
  kwargsToJson(options.kwargs, `enqueueAfterCommit ${typeof method === 'string' ? method : method.name}`);
  getQueueSpec(bench, options.queue ?? 'default');
  if (typeof method === 'string') resolveMethodFile(bench.appsDir, method, installedApps);
}
