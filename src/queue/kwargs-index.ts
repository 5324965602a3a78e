// The kwargs index behind the dashboard's `key=value` find (dashboard_index_keys): for each configured
// key that a job's kwargs hold with a scalar value, enqueue-6.lua adds the job's id to the queue's zset
// QueueKeys.index(key, value), scored by when the job is due (its enqueue time; its run-at when delayed).
// Here the producer works out, per job, which index keys it goes in, and the section of the script's
// ARGV that carries them. With dashboard_index_keys unset nothing here runs: no parse, no extra argument.
//
// Retention: an entry is kept `keepMs` after the job is due: the longest a job's record lives
// (max of rq_results_ttl and rq_job_failure_ttl, the site's own failure TTL included) plus a day for the
// time it waits in its queue and runs. Older entries are trimmed by the script (a few at a time), and an
// index key expires `keepMs` (plus the delay) after its last write, so a value no longer enqueued leaves
// nothing behind. Entries of jobs deleted or expired sooner stay until then: readers check that the job
// still exists and still has that value (src/monitor/find.ts).
import type { BenchConfig } from '../config/load.js';
import type { EnqueueFields } from '../redis/job-record.js';
import type { QueueKeys } from '../redis/keys.js';

/** Characters of a value that the index keeps: a longer value is indexed (and looked up) by its first ones. */
export const INDEX_VALUE_MAX = 200;
/** Time a job may wait in its queue and run, on top of the record's own retention. */
const QUEUE_ALLOWANCE_MS = 24 * 60 * 60 * 1000;
/** An index key's expiry is moved on when it would end within this fraction of the retention. */
const REFRESH_FRACTION = 8;

/** What one enqueue call indexes: the configured keys and how long entries are kept. */
export interface IndexPlan {
  keys: readonly string[];
  /** `"key"` as it appears in a payload: a payload holding none of them is not parsed. */
  quoted: readonly string[];
  keepMs: number;
  refreshMs: number;
}

const plans = new WeakMap<readonly string[], Map<number, IndexPlan>>();

/** The index plan of an enqueue call, or undefined when dashboard_index_keys is unset or empty. */
export function indexPlan(bench: BenchConfig, fields: EnqueueFields): IndexPlan | undefined {
  const keys = bench.settings.dashboard_index_keys;
  if (keys === undefined || keys.length === 0) return undefined;
  const { rq_results_ttl: results, rq_job_failure_ttl: failure } = bench.settings;
  const keepMs = Math.max(results, failure, fields.failureTtl ?? 0) * 1000 + QUEUE_ALLOWANCE_MS;
  // One plan per key list and retention, so that single-job requests can tell theirs are alike cheaply.
  let byKeep = plans.get(keys);
  if (!byKeep) {
    byKeep = new Map();
    plans.set(keys, byKeep);
  }
  let plan = byKeep.get(keepMs);
  if (!plan) {
    plan = { keys, quoted: keys.map((key) => JSON.stringify(key)), keepMs, refreshMs: Math.round(keepMs / REFRESH_FRACTION) };
    byKeep.set(keepMs, plan);
  }
  return plan;
}

/** The text a kwargs value is indexed under, or undefined for a value that is not indexed (not a string, number or boolean). */
export function indexValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > INDEX_VALUE_MAX ? value.slice(0, INDEX_VALUE_MAX) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** The index keys a job with this kwargs JSON goes in (none when its payload names no indexed key). */
export function indexKeysOf(plan: IndexPlan, keys: QueueKeys, payload: string): string[] {
  if (!plan.quoted.some((quoted) => payload.includes(quoted))) return [];
  const kwargs = JSON.parse(payload) as Record<string, unknown>;
  const found: string[] = [];
  for (const key of plan.keys) {
    if (!Object.hasOwn(kwargs, key)) continue;
    const value = indexValue(kwargs[key]);
    if (value !== undefined) found.push(keys.index(key, value));
  }
  return found;
}

/**
 * The index section of an enqueue call's ARGV (enqueue-6.lua): keepMs, refreshMs, then a pair per entry,
 * (the job's place in the call, from 1; the index key). Empty when no job of the call has an entry.
 */
export function indexSection(plan: IndexPlan, perJob: readonly (readonly string[])[]): string[] {
  const section: string[] = [];
  perJob.forEach((indexKeys, i) => {
    for (const key of indexKeys) section.push(String(i + 1), key);
  });
  return section.length === 0 ? section : [String(plan.keepMs), String(plan.refreshMs), ...section];
}

/** ARGV[12] of an enqueue call: the number of common field pairs, then ",m" when an index section of m entries follows them. */
export function commonCountArg(commonLength: number, section: readonly string[] | undefined): string {
  const pairs = String(commonLength / 2);
  return section === undefined || section.length === 0 ? pairs : `${pairs},${section.length}`;
}
