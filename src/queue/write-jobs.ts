// Writes prepared jobs to Redis through the atomic enqueue script, in pipelined batches bounded by count
// and by bytes. A request of more than one call is tracked in a progress hash (keys.bulk(token)) that the
// script moves forward in the same step as each write, and a call writes only when every earlier call
// of its request did. So a request cut short (Redis out of memory, a connection lost) has written a
// prefix of its batches, the error says how far it got (at least, when Redis cannot be asked: the
// connection is gone), and `resume: token` carries on from exactly there, read from the progress hash
// (made before the first call): no job is written twice, even when a reply was lost. A request of one job goes through
// ./single-writes.ts, which sends the single-job requests of one turn together.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from '../redis/client-type.js';
import type { BenchConfig } from '../config/load.js';
import { BenchError, isBenchError } from '../errors.js';
import { ScriptCode } from '../redis/codes.js';
import { withDeadline } from '../redis/connection.js';
import { corkForThisTurn } from '../redis/cork.js';
import { queueKeys, type QueueKeys } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';
import { enqueueFieldPairs, generatedJobId, namespacedJobId, type EnqueueFields } from '../redis/job-record.js';
import { BATCH_BYTES, flushGroups, jobExists, queueFull, siteFull, writeOne } from './single-writes.js';
import { commonCountArg, indexKeysOf, indexPlan, indexSection } from './kwargs-index.js';

/** Frappe's QUEUE_STARVATION_THRESHOLD. */
export const STARVATION_THRESHOLD = 16;
/** Jobs per enqueue script call at most. */
const BATCH_SIZE = 1000;
const MAX_BATCHES_IN_FLIGHT = 8;
/** How long the progress of a request cut short is kept for its resume. */
export const RESUME_TTL_SECONDS = 24 * 60 * 60;
/** How long reading the progress after a failure may take before the report says "at least". */
const PROGRESS_READ_MS = 2000;

export interface WriteOptions {
  atFront: boolean;
  atFrontWhenStarved: boolean;
  /**
   * Queue length not to pass (0 = none). The whole request must fit: the first call is refused, and
   * nothing written, when the queue plus every job of the request would pass it; each later call checks
   * that the rest still fits (another producer may have filled the queue meanwhile).
   */
  maxQueued: number;
  /** Jobs the site may have queued on the queue (max_queued_jobs_per_site); 0 = none. Checked as maxQueued is. */
  maxQueuedPerSite: number;
  deduplicate: boolean;
  userIds: readonly string[] | undefined;
  /** The token of an earlier run of this same request that was cut short: write only what it did not. */
  resume: string | undefined;
  /** How errors name entry `index` of the request. */
  describeEntry: (index: number) => string;
  delayMs: number;
}

interface Batch {
  start: number;
  end: number;
}

/**
 * Write the jobs; resolves to their ids in entry order, undefined where a duplicate was skipped
 * (deduplicate) or where an earlier run already wrote the entry (resume).
 */
export async function writeJobs(redis: Redis, bench: BenchConfig, fields: EnqueueFields, payloads: readonly string[], options: WriteOptions): Promise<(string | undefined)[]> {
  const keys = queueKeys(bench.settings.bench_id, fields.queue);
  const common = enqueueFieldPairs(fields);
  const index = indexPlan(bench, fields);
  if (payloads.length === 1 && options.resume === undefined && !options.atFront && !options.atFrontWhenStarved) {
    return [await writeOne(redis, keys, fields, common, payloads[0] as string, options, index)];
  }
  const batches = batchesOf(payloads);
  // At the front, the last batch goes first so the whole list keeps its order at the head.
  if (options.atFront) batches.reverse();
  const tracked = batches.length > 1 || options.resume !== undefined;
  const progress = tracked ? await startProgress(redis, keys, fields.site, common, payloads, options) : undefined;
  if (progress && options.resume === undefined) recordStart(redis, keys, progress);
  const ids = payloads.map((_, i) => (options.userIds?.[i] === undefined ? `${fields.site}||${generatedJobId()}` : namespacedJobId(fields.site, options.userIds[i] as string)));
  const nonces = payloads.map((_, i) => (options.userIds?.[i] === undefined ? '' : generatedJobId()));
  const accepted: boolean[] = ids.map(() => true);
  const written: boolean[] = batches.map(() => false);
  let skipped = progress?.from ?? 0;
  let sentFrom = 0;
  let failure: unknown;
  const inFlight: Promise<void>[] = [];
  const all: Promise<void>[] = [];
  let incoming = ids.length - skipped;
  for (const [n, batch] of batches.entries()) {
    const size = batch.end - batch.start;
    const from = sentFrom;
    sentFrom += size;
    if (skipped >= size) {
      skipped -= size;
      written[n] = true;
      for (let i = batch.start; i < batch.end; i++) accepted[i] = false;
      continue;
    }
    if (failure !== undefined) break;
    const section = index === undefined ? undefined : indexSection(index, payloads.slice(batch.start, batch.end).map((payload) => indexKeysOf(index, keys, payload)));
    const head = [
      options.atFront ? '1' : '0',
      String(options.maxQueued),
      String(incoming),
      String(options.atFrontWhenStarved ? STARVATION_THRESHOLD : 0),
      String(options.delayMs),
      progress ? String(from) : '',
      progress ? String(from + size) : '',
      progress?.digest ?? '',
      String(RESUME_TTL_SECONDS),
      keys.prefix,
      String(options.maxQueuedPerSite),
      commonCountArg(common.length, section),
      ...common,
    ];
    const args: string[] = head;
    if (section !== undefined) for (const arg of section) args.push(arg);
    for (let i = batch.start; i < batch.end; i++) args.push(ids[i] as string, payloads[i] as string, nonces[i] as string);
    // Cork only a request of one call: it lets concurrent single enqueues share a write. A bulk request's
    // calls each go out as soon as built, so Redis runs one while the next is being built.
    if (batches.length === 1) corkForThisTurn(redis);
    const batchIncoming = incoming;
    incoming -= size;
    const progressKey = progress ? keys.bulk(progress.token) : keys.wait;
    // Single-job requests made before this one go out first.
    flushGroups();
    const guarded = runScript(redis, 'enqueue', [keys.wait, keys.marker, keys.finished, keys.failed, keys.delayed, progressKey], args)
      .then((reply) => {
        readReply(reply, ids, batch.start, options, fields, batchIncoming).forEach((ok, i) => (accepted[batch.start + i] = ok));
        written[n] = true;
      })
      .catch((err: unknown) => {
        failure ??= err;
      });
    // The first call carries the queue-size check: nothing else goes out before it answered.
    if (all.length === 0 && options.maxQueued > 0) await guarded;
    all.push(guarded);
    inFlight.push(guarded);
    // A sliding window: wait for the oldest call only, so the socket never runs dry between rounds.
    if (inFlight.length >= MAX_BATCHES_IN_FLIGHT) await inFlight.shift();
  }
  await Promise.all(all);
  if (failure !== undefined) {
    if (!progress) throw failure;
    throw await cutShort(redis, keys, progress, batches, written, payloads.length, failure, options);
  }
  return ids.map((id, i) => (accepted[i] ? id : undefined));
}

interface Progress {
  token: string;
  digest: string;
  /** Entries (in send order) an earlier run of the request wrote. */
  from: number;
}

/** A new request's progress (a fresh token), or, for a resume, where its earlier run stopped. */
async function startProgress(redis: Redis, keys: QueueKeys, site: string, common: readonly string[], payloads: readonly string[], options: WriteOptions): Promise<Progress> {
  // What the request is: its site, fields, order and every payload (not its delay: `at` moves with the clock).
  const hash = createHash('sha256').update(`${site}\n${options.atFront ? 'front' : 'back'}\n${common.join('\n')}\n${payloads.length}\n`);
  hash.update(payloads.join('\n'));
  const digest = hash.digest('base64url').slice(0, 22);
  if (options.resume === undefined) return { token: randomBytes(8).toString('hex'), digest, from: 0 };
  const token = options.resume;
  if (!/^[0-9a-f]{16}$/.test(token)) {
    throw new BenchError('ERR_RESUME_INVALID', `resume token "${token}" is not one that bulk enqueue gives (16 hex digits)`, { details: { token } });
  }
  const [next, storedDigest] = await redis.hmget(keys.bulk(token), 'next', 'digest');
  if (next === null) {
    throw new BenchError('ERR_RESUME_INVALID', `resume token "${token}" is unknown on queue "${keys.queue}": it expired (kept ${RESUME_TTL_SECONDS / 3600} h) or belongs to another queue`, { details: { token, queue: keys.queue } });
  }
  if (storedDigest !== digest) {
    throw new BenchError('ERR_RESUME_INVALID', `resume token "${token}" belongs to a different request: the jobs, method or options are not the ones it was given; nothing was enqueued`, { details: { token } });
  }
  return { token, digest, from: Number(next) };
}

/**
 * Record a new request's progress (nothing written yet) ahead of its first call, on the same connection so
 * that it lands first (not waited for: a failure here fails that call too). Then its token resumes it even
 * when the error could not tell whether anything was written: a resume reads how far it got from here.
 */
function recordStart(redis: Redis, keys: QueueKeys, progress: Progress): void {
  const key = keys.bulk(progress.token);
  redis.hset(key, 'next', '0', 'digest', progress.digest).catch(() => undefined);
  redis.expire(key, RESUME_TTL_SECONDS).catch(() => undefined);
}

/**
 * The error of a tracked request that failed: how far it got and how to resume. The count is exact when
 * Redis answered the progress read; otherwise it is what the replies confirmed, a lower bound (a call whose
 * reply was lost may have written), and the token is always given: a resume reads the progress itself.
 */
async function cutShort(redis: Redis, keys: QueueKeys, progress: Progress, batches: readonly Batch[], written: readonly boolean[], total: number, cause: unknown, options: WriteOptions): Promise<unknown> {
  // What the replies confirmed: the batches written, in send order, up to the first that was not.
  let confirmed = 0;
  for (const [n, batch] of batches.entries()) {
    if (!written[n]) break;
    confirmed += batch.end - batch.start;
  }
  const stored = await withDeadline(redis.hget(keys.bulk(progress.token), 'next'), PROGRESS_READ_MS, 'no answer').then(
    (next) => (next === null ? 0 : Number(next)),
    () => undefined,
  );
  const done = stored ?? confirmed;
  const exact = stored !== undefined;
  // Only a progress read from Redis can say that nothing was written. Then the request's progress record
  // goes too (no token is given): a refused request (a full queue) leaves Redis as it found it.
  const nothing = exact && done === 0;
  if (nothing) await redis.del(keys.bulk(progress.token)).catch(() => undefined);
  if (nothing && isBenchError(cause)) return cause;
  // The first entry (in the list's own order) of the batches not written (or, not exact, not confirmed).
  let sent = 0;
  let firstMissing = total;
  for (const batch of batches) {
    if (sent >= done) firstMissing = Math.min(firstMissing, batch.start);
    sent += batch.end - batch.start;
  }
  const reason = cause instanceof Error ? cause.message : String(cause);
  const count = exact ? `${done} of ${total} jobs were enqueued` : `at least ${done} of ${total} jobs were enqueued (Redis could not be asked how many more)`;
  const next = firstMissing < total
    ? `${options.describeEntry(firstMissing)} and those after it ${exact ? 'were not' : 'may not have been'}`
    : `the rest ${exact ? 'was not' : 'may not have been'}`;
  const summary = `bulk enqueue stopped: ${count}; ${next} (${reason}).`;
  const resume = nothing ? 'Nothing was written: run it again.' : `Resume with token ${progress.token} (kept ${RESUME_TTL_SECONDS / 3600} h): it writes exactly the jobs not yet written.`;
  return new BenchError('ERR_ENQUEUE_INCOMPLETE', `${summary} ${resume}`, {
    cause,
    details: { summary, enqueued: done, total, firstNotEnqueued: firstMissing < total ? firstMissing : undefined, resumeToken: nothing ? undefined : progress.token, exact },
  });
}

/** Consecutive [start, end) ranges of at most BATCH_SIZE jobs and BATCH_BYTES of payload (a larger job alone). */
function batchesOf(payloads: readonly string[]): Batch[] {
  const batches: Batch[] = [];
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

function readReply(reply: unknown, ids: readonly string[], start: number, options: WriteOptions, fields: EnqueueFields, incoming: number): boolean[] {
  const codes = reply as number[];
  const queue = fields.queue;
  if (codes[0] === ScriptCode.QUEUE_FULL) throw queueFull(queue, codes[1], options.maxQueued, incoming);
  if (codes[0] === ScriptCode.SITE_FULL) throw siteFull(queue, fields.site, Number(codes[1]), options.maxQueuedPerSite, incoming);
  if (codes[0] === ScriptCode.OUT_OF_ORDER) {
    throw new BenchError('ERR_ENQUEUE_INCOMPLETE', 'an earlier part of this bulk request was not written, so this part was not either', { details: { written: codes[1] } });
  }
  if (codes[0] === ScriptCode.RESUME_MISMATCH) {
    throw new BenchError('ERR_RESUME_INVALID', 'the resume token belongs to a different request; nothing was enqueued', { details: { written: codes[1] } });
  }
  if (codes[0] === ScriptCode.ALL_OK) return new Array<boolean>(codes[1] as number).fill(true);
  return codes.map((code, i) => {
    if (code !== ScriptCode.JOB_EXISTS) return true;
    const id = ids[start + i] as string;
    if (options.deduplicate) return false;
    throw jobExists(id, queue);
  });
}
