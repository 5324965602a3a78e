// A worker process's side of the Redis protocol, as typed calls: the one round trip that reports started
// jobs, ends finished ones and claims more (fetch.lua), the hand-back of claimed jobs it will not run,
// and the blocking wait for new work. Only this module knows these scripts' KEYS/ARGV order.
import { queueTimeout, type QueueSpec } from '../config/load.js';
import type { Redis } from '../redis/client-type.js';
import { DEFAULTS } from '../config/schema.js';
import { ScriptCode } from '../redis/codes.js';
import { benchKeys, queueKeys, type QueueKeys } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';
import { jobFromClaim } from '../redis/job-record.js';
import type { JobRecord } from '../vocabulary.js';
import type { SiteRules } from './site-rules.js';
import { ownedJobsOf } from './ownership.js';
import { isCluster } from '../redis/cluster.js';
import { markerWaitsOf } from './marker-waits.js';

/** How a running job ended, as the fetch script records it. */
export type Ending =
  | { kind: 'finished'; result: string }
  /** retryMs > 0: schedule it again; history: every attempt's error so far as JSON, or "" to keep it. */
  | { kind: 'failed'; error: string; retryMs: number; history: string }
  | { kind: 'stopped'; error: string };

/** One ended job, to be recorded by the next fetch call. */
export interface EndedJob {
  queue: string;
  id: string;
  token: string;
  ending: Ending;
  /** Seconds its record is kept: its site's rq_results_ttl when it finished, rq_job_failure_ttl otherwise. */
  ttl: number;
}

/** A job this process claimed. */
export interface ClaimedJob {
  record: JobRecord;
  token: string;
}

export interface FetchReply {
  /** False when the process's liveness stamp lapsed: it claimed nothing and may claim nothing more. */
  ownerAlive: boolean;
  /** Someone listens on the bench's job events channel: report the start of prefetched jobs (job_started). */
  listeners: boolean;
  /** Ms until the next scheduled job of the listened queues falls due; -1: none. */
  nextScheduledMs: number;
  /** One script code per ended job, in order (OK, RETRY_SCHEDULED, REPLAYED, LEASE_LOST, NO_JOB). */
  endCodes: number[];
  claimed: ClaimedJob[];
  /** Fewer were claimed than asked only because many popped ids had no job (holes): the queues are not empty. */
  more: boolean;
}

export interface FetchOptions {
  /** How many of the claimed jobs start at once (the others are prefetched); default all. */
  startNow?: number;
  /** Prefetched jobs that started since the last call (their job_started goes out). */
  started?: readonly { queue: string; id: string }[];
  /** Claim tokens number on from this (the jobs earlier calls of the same claim took). */
  tokenBase?: number;
}

export type ReleaseMode = 'crash' | 'blameless' | 'unstarted';
const RELEASE_MODES: Record<ReleaseMode, string> = { crash: '1', blameless: '0', unstarted: 'u' };
const ENDING_CODES = { finished: 'f', failed: 'x', stopped: 's' } as const;

export class Fetcher {
  constructor(
    private readonly redis: Redis,
    private readonly benchId: string,
    /** Name of the worker process: the owner of what it claims. */
    private readonly owner: string,
    /** How long a replayed call still finds what its first run claimed (ms). */
    private readonly recordMs: number,
    private readonly failedLimit: number,
    /** Seconds an abandoned job's record is kept when its hash has no fttl of its own (rq_job_failure_ttl). */
    private readonly failureTtl: number = DEFAULTS.rq_job_failure_ttl,
    /** The bench's queues, for their default timeouts (a claimed hash without `timeout` runs with its queue's). */
    private readonly queues: readonly QueueSpec[] = [],
    /** Each queue's per-site fairness rules (site-rules.ts); none: every site weight 1, no cap. */
    private readonly rules?: Pick<SiteRules, 'forQueue'>,
    /** Days the per-minute history of ended jobs is kept after its day (dashboard_history_days). */
    private readonly historyDays: number = DEFAULTS.dashboard_history_days,
  ) {}

  keys(queue: string): QueueKeys {
    return queueKeys(this.benchId, queue);
  }

  /**
   * In one script call: publish job_started for `started` (prefetched jobs that started; only while
   * someone listens), end `ended`, and claim up to `count` jobs from `queues` (highest priority first),
   * of which the first `startNow` start at once (their job_started goes out with the claim).
   * `requestId` is unique per call; calling again with the same id and arguments (after an error) is a
   * replay: it returns the jobs the first call claimed and ends nothing twice.
   */
  async fetch(queues: readonly string[], ended: readonly EndedJob[], count: number, requestId: string, options: FetchOptions = {}): Promise<FetchReply> {
    if (!isCluster(this.redis) || queues.length === 1) return this.fetchFrom(queues, ended, count, requestId, options);
    return this.fetchQueueByQueue(queues, ended, count, requestId, options);
  }

  /**
   * fetch() on a Redis Cluster, where each queue lives in its own slot and one script cannot span them:
   * one call per queue, in priority order, each claiming what the ones before left of `count`. A queue
   * with nothing to end or report is skipped once `count` is filled. A replay of the whole fetch replays
   * each call, and the replies merge into one, ended jobs' codes in the order given.
   */
  private async fetchQueueByQueue(queues: readonly string[], ended: readonly EndedJob[], count: number, requestId: string, options: FetchOptions): Promise<FetchReply> {
    const started = options.started ?? [];
    const startNow = options.startNow ?? count;
    const extra = [...ended, ...started].map((job) => job.queue).filter((queue) => !queues.includes(queue));
    const merged: FetchReply = { ownerAlive: true, listeners: false, nextScheduledMs: -1, endCodes: new Array<number>(ended.length).fill(0), claimed: [], more: false };
    for (const queue of [...queues, ...new Set(extra)]) {
      const mine = ended.flatMap((job, at) => (job.queue === queue ? [at] : []));
      const begun = started.filter((job) => job.queue === queue);
      const want = merged.ownerAlive ? Math.max(0, count - merged.claimed.length) : 0;
      if (want === 0 && mine.length === 0 && begun.length === 0) continue;
      // The same request id (each queue keeps its own replay record), tokens numbered on across the calls:
      // a job's token is the request id and its place in the whole claim, as on one server.
      const reply = await this.fetchFrom([queue], mine.map((at) => ended[at] as EndedJob), want, requestId, {
        startNow: Math.max(0, startNow - merged.claimed.length),
        started: begun,
        tokenBase: merged.claimed.length,
      });
      reply.endCodes.forEach((code, i) => (merged.endCodes[mine[i] as number] = code));
      merged.claimed.push(...reply.claimed);
      merged.ownerAlive &&= reply.ownerAlive;
      merged.listeners ||= reply.listeners;
      merged.more ||= reply.more;
      if (reply.nextScheduledMs >= 0 && (merged.nextScheduledMs < 0 || reply.nextScheduledMs < merged.nextScheduledMs)) merged.nextScheduledMs = reply.nextScheduledMs;
    }
    return merged;
  }

  private async fetchFrom(queues: readonly string[], ended: readonly EndedJob[], count: number, requestId: string, options: FetchOptions): Promise<FetchReply> {
    const keys: string[] = [];
    const started = options.started ?? [];
    const publish = isCluster(this.redis) ? 'always' : 'ask';
    const args: (string | number)[] = [this.owner, requestId, count, options.startNow ?? count, this.recordMs, this.failedLimit, benchKeys(this.benchId).events, publish, options.tokenBase ?? 0, this.historyDays];
    const single = queues.length === 1;
    for (const queue of queues) {
      const k = this.keys(queue);
      keys.push(k.wait, k.active, k.marker, k.delayed, k.owners, k.finished, k.failed);
      const mine = single ? ended : ended.filter((job) => job.queue === queue);
      args.push(queue, k.prefix, mine.length);
      for (const { id, token, ending, ttl } of mine) {
        if (ending.kind === 'finished') args.push(id, token, 'f', ending.result, ttl);
        else if (ending.kind === 'failed') args.push(id, token, ENDING_CODES.failed, ending.error, ttl, ending.retryMs, ending.history);
        else args.push(id, token, ENDING_CODES.stopped, ending.error, ttl, 0, '');
      }
      const begun = single ? started : started.filter((job) => job.queue === queue);
      args.push(begun.length);
      for (const job of begun) args.push(job.id);
      if (this.rules) args.push(...this.rules.forQueue(queue));
      else args.push(1, -1, 0);
    }
    const text = (await runScript(this.redis, 'fetch', keys, args)) as string;
    const [status, nextScheduledMs, codes, jobs, listeners, more] = JSON.parse(text) as [number, number, number[] | object, (string | number | false)[][] | object, number, number];
    const claimed: ClaimedJob[] = [];
    // An empty Lua list comes back as {} (cjson cannot tell an empty list from an empty object).
    if (Array.isArray(jobs)) {
      for (const job of jobs) {
        const queue = queues[Number(job[0]) - 1] as string;
        claimed.push({ record: jobFromClaim(job[1] as string, queueTimeout({ queues: this.queues }, queue), job as (string | false)[], 3, this.owner), token: job[2] as string });
      }
    }
    return { ownerAlive: status !== ScriptCode.OWNER_LOST, listeners: listeners === 1, nextScheduledMs, endCodes: Array.isArray(codes) ? codes : [], claimed, more: more === 1 };
  }

  /**
   * Hand claimed jobs of one queue back to the front of it (in their order), each fenced by its token:
   * `unstarted` also takes back the attempt its claim counted, `blameless` counts nothing, `crash` counts
   * a crash. Resolves to one code per job: OK, ABANDONED or LEASE_LOST.
   */
  async release(queue: string, jobs: readonly { id: string; token: string }[], mode: ReleaseMode, maxStalls: number, reason: string): Promise<number[]> {
    if (jobs.length === 0) return [];
    const k = this.keys(queue);
    const args: (string | number)[] = [k.prefix, RELEASE_MODES[mode], maxStalls, reason, this.failedLimit, this.failureTtl];
    for (const job of jobs) args.push(job.id, job.token);
    return ((await runScript(this.redis, 'release', [k.active, k.wait, k.marker, k.failed], args)) as number[]).map(Number);
  }

  /** release() for claimed jobs of any queues, queue by queue. */
  async releaseClaimed(jobs: readonly ClaimedJob[], mode: ReleaseMode, maxStalls: number, reason: string): Promise<void> {
    const byQueue = new Map<string, { id: string; token: string }[]>();
    for (const { record, token } of jobs) {
      const list = byQueue.get(record.queue) ?? [];
      list.push({ id: record.id, token });
      byQueue.set(record.queue, list);
    }
    for (const [queue, list] of byQueue) await this.release(queue, list, mode, maxStalls, reason);
  }

  /** The running jobs this process owns in `queue`, as Redis has them, with their claim tokens. */
  async ownedJobs(queue: string): Promise<{ id: string; token: string }[]> {
    return ownedJobsOf(this.redis, this.keys(queue), this.owner);
  }

  /** Block on `client` (a dedicated connection) until a marker of one of `queues` is set, or timeout. */
  async waitForWork(client: Redis, queues: readonly string[], timeoutSeconds: number): Promise<boolean> {
    // BZPOPMIN takes fractional seconds; 0 would mean forever.
    const seconds = Math.max(0.01, timeoutSeconds);
    const markers = queues.map((q) => this.keys(q).marker);
    if (isCluster(client) && markers.length > 1) return markerWaitsOf(client).wait(markers, seconds);
    const reply = await client.bzpopmin(...markers, seconds);
    return reply !== null;
  }
}
