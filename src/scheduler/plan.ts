// When scheduled things are due, with the clock passed in (never read here), so that tests decide the
// time: Frappe's fixed events as cron expressions, cron expressions parsed and evaluated by croner in
// a site's time zone (DST included), ticks aligned to the clock, and the due rule that gives one run
// per missed event after an outage, never a backfill.
import { Cron } from 'croner';

/** The fixed events and their schedule in the site's time zone (Frappe's CRON_MAP); `all` is every tick. */
export const FIXED_EVENTS = {
  all: 'tick',
  hourly: '0 * * * *',
  hourly_long: '0 * * * *',
  hourly_maintenance: '0 * * * *',
  daily: '0 0 * * *',
  daily_long: '0 0 * * *',
  daily_maintenance: '0 0 * * *',
  weekly: '0 0 * * 0',
  weekly_long: '0 0 * * 0',
  monthly: '0 0 1 * *',
  monthly_long: '0 0 1 * *',
} as const;

export type FixedEvent = keyof typeof FIXED_EVENTS;
export type CronEvent = 'cron' | 'cron_long';
export type SchedulerEvent = FixedEvent | CronEvent;
export const CRON_EVENTS: readonly CronEvent[] = ['cron', 'cron_long'];

/** What decides the fire times of a job type: every tick, or a cron expression in a time zone. */
export type Schedule = { kind: 'tick' } | { kind: 'cron'; expression: string; timeZone: string | undefined };

const parsed = new Map<string, Cron>();

/**
 * The parsed expression (cached): 5 fields or an @alias, day-of-month OR day-of-week as in Vixie cron.
 * Throws croner's error for a bad one; an expression that can never fire is refused too.
 */
export function parseCron(expression: string, timeZone: string | undefined): Cron {
  const key = `${timeZone ?? ''}\0${expression}`;
  let cron = parsed.get(key);
  if (!cron) {
    const fields = expression.trim().startsWith('@') ? 1 : expression.trim().split(/\s+/).length;
    if (fields !== 1 && fields !== 5) throw new Error(`expected 5 fields (minute hour day-of-month month day-of-week) or an @alias, found ${fields}`);
    cron = new Cron(expression, { mode: '5-part', domAndDow: false, ...(timeZone === undefined ? {} : { timezone: timeZone }) });
    if (cron.nextRun(new Date(0)) === null) throw new Error('it never fires (no date matches it)');
    parsed.set(key, cron);
  }
  return cron;
}

/** The tick boundary at or before `nowMs`: ticks fall on multiples of `tickMs` since the epoch. */
export function tickAtOrBefore(nowMs: number, tickMs: number): number {
  return Math.floor(nowMs / tickMs) * tickMs;
}

/** The latest fire time at or before `atMs`, or undefined when there is none. */
export function latestFire(schedule: Schedule, atMs: number, tickMs: number): number | undefined {
  if (schedule.kind === 'tick') return tickAtOrBefore(atMs, tickMs);
  // previousRuns excludes a run exactly at its reference: look from 1 ms later.
  const [previous] = parseCron(schedule.expression, schedule.timeZone).previousRuns(1, new Date(atMs + 1));
  return previous?.getTime();
}

/** The first fire time after `afterMs`, or undefined when there is none. */
export function nextFire(schedule: Schedule, afterMs: number, tickMs: number): number | undefined {
  if (schedule.kind === 'tick') return tickAtOrBefore(afterMs, tickMs) + tickMs;
  return parseCron(schedule.expression, schedule.timeZone).nextRun(new Date(afterMs))?.getTime() ?? undefined;
}

/**
 * The fire time to run at tick `tickMs`, or undefined when nothing is due. Due: the latest fire time
 * at or before the tick is later than the last run's (or, never run, than when the job type was first
 * seen, as Frappe counts from its creation). After an outage that is the latest missed fire only: one
 * run, never one per missed fire.
 */
export function dueFire(schedule: Schedule, tickMs: number, intervalMs: number, lastRun: number | undefined, firstSeen: number): number | undefined {
  const fire = latestFire(schedule, tickMs, intervalMs);
  if (fire === undefined) return undefined;
  return fire > (lastRun ?? firstSeen) ? fire : undefined;
}
