// Single-job enqueues made in one event-loop turn share one script call: 50 concurrent enqueue() calls
// become two calls of 25 instead of 50, and the fixed cost of a call (in Redis and in the client) is
// shared. Each job is still checked and written exactly as a call of its own would be (enqueue-6.lua's
// independent entries: the queue limit per job, in request order) and gets its own result or error.
import type { Redis } from '../redis/client-type.js';
import { BenchError } from '../errors.js';
import { ScriptCode } from '../redis/codes.js';
import { corkForThisTurn } from '../redis/cork.js';
import { generatedJobId, namespacedJobId, siteOf, type EnqueueFields } from '../redis/job-record.js';
import type { QueueKeys } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';
import { commonCountArg, indexKeysOf, indexSection, type IndexPlan } from './kwargs-index.js';

/**
 * Payload bytes per script call at most (one larger job goes alone): Redis runs a script to its end,
 * so a call carrying hundreds of MiB would stall every other client for seconds.
 */
export const BATCH_BYTES = 1024 * 1024;
/**
 * Single-job requests per shared call at most (see writeOne): a call that reaches it goes out at once, so
 * Redis runs it while the turn's other requests are still being prepared (50 in flight: two calls of 25,
 * measured 1.6x the throughput of one call of 50, which leaves Redis idle while the client works).
 */
const MERGE_MAX_JOBS = 25;

/** What a single-job write needs of its request's options. */
export interface SingleWriteOptions {
  maxQueued: number;
  /** Jobs the site may have queued on the queue (max_queued_jobs_per_site); 0 = no limit. */
  maxQueuedPerSite: number;
  delayMs: number;
  deduplicate: boolean;
  userIds: readonly string[] | undefined;
}

/** A single-job request waiting for the end of this turn, to go out in one call with its peers. */
interface PendingJob {
  id: string;
  payload: string;
  nonce: string;
  deduplicate: boolean;
  /** The kwargs index keys the job goes in (none without dashboard_index_keys). */
  indexKeys: readonly string[];
  resolve: (id: string | undefined) => void;
  reject: (err: unknown) => void;
}

/** Consecutive single-job requests of this turn to one queue that can share one call: same connection, limit, delay and fields. */
interface Group {
  redis: Redis;
  keys: QueueKeys;
  queue: string;
  maxQueued: number;
  maxQueuedPerSite: number;
  delayMs: number;
  common: readonly string[];
  index: IndexPlan | undefined;
  jobs: PendingJob[];
  bytes: number;
}

const NO_INDEX_KEYS: readonly string[] = [];

/** This turn's groups, in the order they were opened (the order they go out in). */
let pending: Group[] = [];
/** The group each queue of each connection adds to, while the requests to it stay alike. */
let open = new Map<Redis, Map<string, Group>>();
let flushQueued = false;

/**
 * One job, written together with the other single-job requests made in this same event-loop turn (50
 * concurrent enqueue() calls become one script call instead of 50): one call's fixed cost in Redis and in
 * the client is shared. Each job is still checked and written exactly as a call of its own would be, in
 * request order (the script's independent entries: the queue limit per job), and each request gets its
 * own result or error. Requests to a queue go out in the order they were made: a request unlike the one
 * before it (other fields, limit or delay) opens a new group, and the groups are sent in order.
 */
export function writeOne(redis: Redis, keys: QueueKeys, fields: EnqueueFields, common: readonly string[], payload: string, options: SingleWriteOptions, index?: IndexPlan): Promise<string | undefined> {
  const userId = options.userIds?.[0];
  const id = userId === undefined ? `${fields.site}||${generatedJobId()}` : namespacedJobId(fields.site, userId);
  const nonce = userId === undefined ? '' : generatedJobId();
  let byQueue = open.get(redis);
  if (!byQueue) {
    byQueue = new Map();
    open.set(redis, byQueue);
  }
  let group = byQueue.get(keys.prefix);
  if (
    !group ||
    group.maxQueued !== options.maxQueued ||
    group.maxQueuedPerSite !== options.maxQueuedPerSite ||
    group.delayMs !== options.delayMs ||
    group.index !== index ||
    !sameStrings(group.common, common)
  ) {
    group = { redis, keys, queue: fields.queue, maxQueued: options.maxQueued, maxQueuedPerSite: options.maxQueuedPerSite, delayMs: options.delayMs, common, index, jobs: [], bytes: 0 };
    byQueue.set(keys.prefix, group);
    pending.push(group);
  }
  const indexKeys = index === undefined ? NO_INDEX_KEYS : indexKeysOf(index, keys, payload);
  const promise = new Promise<string | undefined>((resolve, reject) => {
    (group as Group).jobs.push({ id, payload, nonce, deduplicate: options.deduplicate, indexKeys, resolve, reject });
  });
  group.bytes += Buffer.byteLength(payload);
  if (group.jobs.length >= MERGE_MAX_JOBS || group.bytes >= BATCH_BYTES) flushGroups(false);
  else if (!flushQueued) {
    flushQueued = true;
    process.nextTick(flushGroups, true);
  }
  return promise;
}

/** Send this turn's groups (in order); also called before any other enqueue call goes out, to keep the order. */
export function flushGroups(cork = true): void {
  flushQueued = false;
  if (pending.length === 0) return;
  const groups = pending;
  pending = [];
  open = new Map();
  // Cork only when several calls go out together (requests to several queues, or unlike ones).
  for (const group of groups) sendGroup(group, cork && groups.length > 1);
}

function sendGroup(group: Group, cork: boolean): void {
  const { redis, keys, jobs } = group;
  const scriptKeys: string[] = [keys.wait, keys.marker, keys.finished, keys.failed, keys.delayed, keys.wait];
  const section = group.index === undefined ? undefined : indexSection(group.index, jobs.map((job) => job.indexKeys));
  const args: string[] = ['0', String(group.maxQueued), '', '0', String(group.delayMs), '', '', '', '0', keys.prefix, String(group.maxQueuedPerSite), commonCountArg(group.common.length, section), ...group.common];
  if (section !== undefined) args.push(...section);
  for (const job of jobs) args.push(job.id, job.payload, job.nonce);
  if (cork) corkForThisTurn(redis);
  runScript(redis, 'enqueue', scriptKeys, args).then(
    (reply) => {
      const codes = reply as number[];
      if (!Array.isArray(codes) || codes.length !== jobs.length + 1) {
        const err = new Error(`enqueue: unexpected reply from Redis: ${JSON.stringify(reply)}`);
        for (const job of jobs) job.reject(err);
        return;
      }
      const waiting = codes[jobs.length] as number;
      jobs.forEach((job, i) => {
        const code = codes[i];
        if (code === ScriptCode.QUEUE_FULL) job.reject(queueFull(group.queue, waiting, group.maxQueued, 1));
        else if (code === ScriptCode.SITE_FULL) job.reject(siteFull(group.queue, siteOf(job.id), undefined, group.maxQueuedPerSite, 1));
        else if (code !== ScriptCode.JOB_EXISTS) job.resolve(job.id);
        else if (job.deduplicate) job.resolve(undefined);
        else job.reject(jobExists(job.id, group.queue));
      });
    },
    (err: unknown) => {
      for (const job of jobs) job.reject(err);
    },
  );
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function queueFull(queue: string, waiting: unknown, limit: number, incoming: number): BenchError {
  const more = incoming === 1 ? '' : `, and ${incoming} more jobs do not fit`;
  return new BenchError(
    'ERR_QUEUE_OVERLOADED',
    `queue "${queue}" is overloaded: ${String(waiting)} jobs waiting, limit ${limit} (max_queued_jobs + 50 per site)${more}; retry later`,
    { details: { queue, waiting, limit, incoming } },
  );
}

/** The site's lane of the queue is at max_queued_jobs_per_site: that site is refused, not the others. */
export function siteFull(queue: string, site: string, waiting: number | undefined, limit: number, incoming: number): BenchError {
  const more = incoming === 1 ? '' : `, and ${incoming} more jobs do not fit`;
  const held = waiting === undefined ? 'its limit of' : `${waiting} jobs waiting, limit`;
  return new BenchError(
    'ERR_QUEUE_OVERLOADED',
    `queue "${queue}" is overloaded for site "${site}": ${held} ${limit} (max_queued_jobs_per_site)${more}; other sites can still enqueue; retry later`,
    { details: { queue, site, waiting, limit, incoming, perSite: true } },
  );
}

/**
 * A jobId reused while its job is live. RQ would overwrite that job's record and push its id again (the
 * job may then run twice, with the new arguments); here nothing is replaced, and the caller is told so.
 */
export function jobExists(id: string, queue: string): BenchError {
  return new BenchError(
    'ERR_JOB_EXISTS',
    `job "${id}" is already queued, scheduled or running on queue "${queue}": this enqueue replaced nothing and added nothing (the existing job keeps its arguments). Wait until it ends, give another job id, or use deduplicate (--deduplicate) to skip it without an error`,
    { details: { jobId: id, queue } },
  );
}
