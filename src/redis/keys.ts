// The only place that formats Redis key names. Every key of one queue shares the hash tag
// `{<bench_id>:<queue>}`, so one queue lives in one Cluster slot and every script stays single-slot.
//
// Per queue (prefix `bw:{<bench_id>:<queue>}:`):
//   lane:<site> list  one site's pending job ids (front = its next to run): queued jobs wait in their
//                     site's lane, and workers serve the lanes in turns (lua/includes/lanes.lua); WAIT_HOLE
//                     marks the place of an id an operator removed from the middle of a long list
//                     (lua/includes/holes.lua)
//   sites       list  the ring of sites whose lane holds ids, in turn order (head: the site served next)
//   turns       hash  site -> jobs left in its current turn (its queue_weight at the start of a turn)
//   running     hash  site -> its running jobs (claimed, prefetched included), kept only for sites with a
//                     max_concurrent_jobs cap; such a job's hash holds cap=1 until it leaves the active set
//   queued      str   how many ids the lanes hold (holes not counted): the queue length with `wait`'s
//   wait        list  pending job ids from before lanes existed (an upgraded bench), served first; no
//                     write puts new ids there
//   active      zset  running job ids -> start time (ms, Redis clock)
//   marker      zset  wake-up marker a blocked worker waits on (BZPOPMIN)
//   finished    zset  finished ids -> expiry time (ms)
//   failed      zset  failed/stopped ids -> failure time (ms)
//   delayed     zset  scheduled ids (enqueueIn/At, retries) -> run-at time (ms); promoted when due
//   owners      zset  worker process name -> liveness stamp deadline (ms): its running jobs are its own
//                     until then (kept alive by its supervisor)
//   reaper      str   lock: one reaper run at a time
//   job:<id>    hash  the job record (fields listed in redis/job-record.ts)
//   claim:<req> str   ids claimed by one claim call, so a replayed call returns them (expires after a stamp's length)
//   bulk:<tok>  hash  progress of a bulk enqueue written in several calls (next entry, digest), for its
//                     resume; expires a day after its last call
//   paused      str   present: the queue is paused, workers claim nothing from it (bench queue pause)
//   history:<day> hash per-minute job counters of one UTC day (day = floor(ms / 86400000)): field
//                     "<minute of the day>:<f|x|s>" -> jobs finished / failed / stopped in that minute,
//                     written by fetch.lua; kept dashboard_history_days (the dashboard's charts, /metrics)
//   index:<key>=<value> zset ids of jobs whose kwargs[key] is value (keys of dashboard_index_keys) -> when
//                     each is due (ms); trimmed by age, expiring with the longest job TTL (queue/kwargs-index.ts)
// Per bench (prefix `bw:{<bench_id>}:`):
//   workers     zset  worker process name -> last heartbeat (ms)
//   worker:<n>  hash  one worker process's state, expires when its heartbeats stop
//   control     pub/sub channel of commands to workers (stop-job)
//   events      pub/sub channel of the bench's job lifecycle events (job_started, job_finished, job_failed):
//               its own, so that benches sharing a Redis never see each other's
//   scheduler:lease  str   the scheduler lease: JSON {token, host, pid, since} of the one `bench schedule`
//                           that may tick, with a PX expiry it renews (lua/schedulerLease-1.lua)
//   scheduler:state  hash  what the scheduler last did, for doctor and status: lastTick, tickedBy, ... jobs
// benchKeyPatterns() covers both prefixes: the key patterns of the bench's Redis ACL user.
import { BenchError } from '../errors.js';

export const KEY_ROOT = 'bw';

/**
 * What stands in a wait list where an operator removed an id (purge, cancel, delete) that was too far
 * from either end to remove cheaply: never a job id (those start with a site name), never a job hash.
 * Workers drop it; readers skip it. The same value is HOLE in lua/includes/holes.lua.
 */
export const WAIT_HOLE = '(removed)';

export interface QueueKeys {
  queue: string;
  /** Prefix of every key of this queue, ending in ":". */
  prefix: string;
  wait: string;
  /** The site's lane: its pending ids. */
  lane(site: string): string;
  /** Ring of the sites whose lane holds ids. */
  sites: string;
  turns: string;
  running: string;
  queued: string;
  active: string;
  marker: string;
  finished: string;
  failed: string;
  delayed: string;
  owners: string;
  reaperLock: string;
  job(id: string): string;
  bulk(token: string): string;
  paused: string;
  /** Per-minute counters of UTC day `day` (floor(ms / 86400000)). */
  history(day: number): string;
  /** Jobs whose kwargs[key] is `value` (dashboard_index_keys). */
  index(key: string, value: string): string;
}

const queueKeyCache = new Map<string, QueueKeys>();

/** The keys of `queue` of bench `benchId` (made once per queue, then reused). */
export function queueKeys(benchId: string, queue: string): QueueKeys {
  const cacheKey = `${benchId}\0${queue}`;
  let keys = queueKeyCache.get(cacheKey);
  if (!keys) {
    keys = makeQueueKeys(benchId, queue);
    queueKeyCache.set(cacheKey, keys);
  }
  return keys;
}

function makeQueueKeys(benchId: string, queue: string): QueueKeys {
  assertTaggable(benchId);
  const prefix = `${KEY_ROOT}:{${benchId}:${queue}}:`;
  return {
    queue,
    prefix,
    wait: `${prefix}wait`,
    lane: (site: string) => `${prefix}lane:${site}`,
    sites: `${prefix}sites`,
    turns: `${prefix}turns`,
    running: `${prefix}running`,
    queued: `${prefix}queued`,
    active: `${prefix}active`,
    marker: `${prefix}marker`,
    finished: `${prefix}finished`,
    failed: `${prefix}failed`,
    delayed: `${prefix}delayed`,
    owners: `${prefix}owners`,
    reaperLock: `${prefix}reaper`,
    job: (id: string) => `${prefix}job:${id}`,
    bulk: (token: string) => `${prefix}bulk:${token}`,
    paused: `${prefix}paused`,
    history: (day: number) => `${prefix}history:${day}`,
    index: (key: string, value: string) => `${prefix}index:${key}=${value}`,
  };
}

export interface BenchKeys {
  workers: string;
  worker(name: string): string;
  control: string;
  /** Channel of the bench's job lifecycle events. */
  events: string;
  /** The scheduler lease (one ticking `bench schedule` per bench). */
  schedulerLease: string;
  /** The scheduler's last tick and its holder, for doctor and `scheduler status`. */
  schedulerState: string;
}

export function benchKeys(benchId: string): BenchKeys {
  assertTaggable(benchId);
  const prefix = `${KEY_ROOT}:{${benchId}}:`;
  return {
    workers: `${prefix}workers`,
    worker: (name: string) => `${prefix}worker:${name}`,
    control: `${prefix}control`,
    events: `${prefix}events`,
    schedulerLease: `${prefix}scheduler:lease`,
    schedulerState: `${prefix}scheduler:state`,
  };
}

/**
 * Glob patterns (for a Redis ACL user) that match every key of bench `benchId` and no key of another
 * bench, unless that bench's id is this one's followed by ":" (its keys start the same way).
 */
export function benchKeyPatterns(benchId: string): string[] {
  assertTaggable(benchId);
  const id = globEscape(benchId);
  return [`${KEY_ROOT}:{${id}}:*`, `${KEY_ROOT}:{${id}:*`];
}

/** Glob (for SCAN) of the key `name` (wait, active, delayed, ...) of every queue of every bench on a Redis. */
export function everyQueueKeyPattern(name: 'wait' | 'active' | 'delayed' | 'queued'): string {
  return `${KEY_ROOT}:{*}:${name}`;
}

const QUEUE_KEY = new RegExp(`^${KEY_ROOT}:\\{(.+):([^:{}]+)\\}:([a-z]+)$`);

/**
 * The bench id and queue of a per-queue key `bw:{<bench_id>:<queue>}:<name>`, or undefined for another
 * key. Queue names hold no ":" (config/names.ts), so the tag's last ":" splits them.
 */
export function parseQueueKey(key: string): { benchId: string; queue: string; name: string } | undefined {
  const [, benchId, queue, name] = QUEUE_KEY.exec(key) ?? [];
  if (benchId === undefined || queue === undefined || name === undefined) return undefined;
  return { benchId, queue, name };
}

/** `text` as a Redis glob pattern that matches only itself. */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function assertTaggable(benchId: string): void {
  if (/[{}\s]/.test(benchId)) {
    throw new BenchError('ERR_CONFIG_INVALID', `bench_id "${benchId}" must not contain braces or spaces`);
  }
}
