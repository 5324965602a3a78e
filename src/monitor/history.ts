// The per-minute counts of ended jobs of one queue, as the worker's fetch call writes them (lua/includes/
// history.lua): one hash per UTC day, `history(day)`, field "<minute of the day>:<f|x|s>" (finished,
// failed, stopped; a scheduled retry and an abandoned job count as failed), kept dashboard_history_days
// after its day. Only the days of the range are read, each with one call: HMGET of the range's fields
// when it covers a small part of its day, HGETALL otherwise.
import type { Redis } from '../redis/client-type.js';
import { queueKeys } from '../redis/keys.js';
import { execAll } from './jobs.js';

/** Ended jobs of one minute. */
export interface HistoryPoint {
  /** Start of the minute, ms since the epoch (UTC). */
  minute: number;
  finished: number;
  failed: number;
  stopped: number;
}

export const MS_PER_MINUTE = 60_000;
const MINUTES_PER_DAY = 1440;
const MS_PER_DAY = MINUTES_PER_DAY * MS_PER_MINUTE;
/** The longest range read (longer than dashboard_history_days can keep): an older `fromMs` is moved up to it. */
export const MAX_HISTORY_MS = 366 * MS_PER_DAY;
/** Below this many minutes of a day, its fields are asked for by name (HMGET) rather than all read (HGETALL). */
const HMGET_MAX_MINUTES = 240;
const OUTCOMES = { f: 'finished', x: 'failed', s: 'stopped' } as const;
type Outcome = keyof typeof OUTCOMES;

/**
 * One point per minute from the minute holding `fromMs` to the one holding `toMs` (both included),
 * oldest first, zeros where nothing ended. An empty list when `toMs` is before `fromMs`.
 */
export async function readHistory(redis: Redis, benchId: string, queue: string, fromMs: number, toMs: number): Promise<HistoryPoint[]> {
  const last = Math.floor(toMs / MS_PER_MINUTE);
  const first = Math.floor(Math.max(fromMs, toMs - MAX_HISTORY_MS) / MS_PER_MINUTE);
  if (!Number.isFinite(first) || !Number.isFinite(last) || last < first) return [];
  const points: HistoryPoint[] = [];
  for (let m = first; m <= last; m++) points.push({ minute: m * MS_PER_MINUTE, finished: 0, failed: 0, stopped: 0 });
  const k = queueKeys(benchId, queue);
  // Every day hash of a queue is under its hash tag: one pipeline, one slot, on a Cluster too.
  const pipeline = redis.pipeline();
  const days: { day: number; fields?: string[] }[] = [];
  for (let day = Math.floor(first / MINUTES_PER_DAY); day <= Math.floor(last / MINUTES_PER_DAY); day++) {
    const from = Math.max(first, day * MINUTES_PER_DAY) - day * MINUTES_PER_DAY;
    const to = Math.min(last, day * MINUTES_PER_DAY + MINUTES_PER_DAY - 1) - day * MINUTES_PER_DAY;
    if (to - from + 1 <= HMGET_MAX_MINUTES) {
      const fields: string[] = [];
      for (let m = from; m <= to; m++) for (const outcome of Object.keys(OUTCOMES)) fields.push(`${m}:${outcome}`);
      pipeline.hmget(k.history(day), ...fields);
      days.push({ day, fields });
    } else {
      pipeline.hgetall(k.history(day));
      days.push({ day });
    }
  }
  const replies = await execAll(pipeline);
  days.forEach(({ day, fields }, i) => {
    const reply = replies[i];
    const entries: [string, string | null][] = fields ? fields.map((field, at) => [field, (reply as (string | null)[])[at] ?? null]) : Object.entries(reply as Record<string, string>);
    for (const [field, value] of entries) {
      if (value === null) continue;
      const [minuteOfDay, outcome] = field.split(':');
      const point = points[day * MINUTES_PER_DAY + Number(minuteOfDay) - first];
      const name = OUTCOMES[outcome as Outcome] as (typeof OUTCOMES)[Outcome] | undefined;
      if (point && name) point[name] += Number(value);
    }
  });
  return points;
}
