// The scheduler's time rules with the clock given by the test: cron edges, DST in a site's time zone,
// month ends, aligned ticks, the start-up catch-up (one run per missed event, never a backfill), and
// the checks of scheduler_events (a bad expression names the app, the expression and what is wrong).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultQueueOf, parseEvents } from '../../src/scheduler/events.ts';
import { dueFire, latestFire, nextFire, parseCron, tickAtOrBefore, type Schedule } from '../../src/scheduler/plan.ts';
import { isScheduledRun, scheduledJobId } from '../../src/jobs/scheduled.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const cron = (expression: string, timeZone?: string): Schedule => ({ kind: 'cron', expression, timeZone });
const TICK = 240_000;

describe('cron fire times', () => {
  it('a fire exactly at the reference is the latest fire, and the next one is strictly after', () => {
    assert.equal(iso(latestFire(cron('0 * * * *', 'UTC'), at('2024-01-01T10:00:00Z'), TICK)), '2024-01-01T10:00:00.000Z');
    assert.equal(iso(latestFire(cron('0 * * * *', 'UTC'), at('2024-01-01T09:59:59.999Z'), TICK)), '2024-01-01T09:00:00.000Z');
    assert.equal(iso(nextFire(cron('0 * * * *', 'UTC'), at('2024-01-01T10:00:00Z'), TICK)), '2024-01-01T11:00:00.000Z');
  });

  it('@aliases are the standard ones', () => {
    assert.equal(iso(nextFire(cron('@daily', 'UTC'), at('2024-01-01T10:00:00Z'), TICK)), '2024-01-02T00:00:00.000Z');
    assert.equal(iso(nextFire(cron('@weekly', 'UTC'), at('2024-01-01T10:00:00Z'), TICK)), '2024-01-07T00:00:00.000Z');
    assert.equal(iso(nextFire(cron('@monthly', 'UTC'), at('2024-01-31T10:00:00Z'), TICK)), '2024-02-01T00:00:00.000Z');
  });

  it('month ends: day 31 skips the shorter months, day 29 of February only in leap years', () => {
    assert.equal(iso(nextFire(cron('0 0 31 * *', 'UTC'), at('2024-01-31T00:00:00Z'), TICK)), '2024-03-31T00:00:00.000Z');
    assert.equal(iso(nextFire(cron('0 0 29 2 *', 'UTC'), at('2024-03-01T00:00:00Z'), TICK)), '2028-02-29T00:00:00.000Z');
    assert.equal(iso(latestFire(cron('0 0 1 * *', 'UTC'), at('2024-03-01T00:00:00Z'), TICK)), '2024-03-01T00:00:00.000Z');
  });

  it('day-of-month and day-of-week together match either, as in Vixie cron', () => {
    // The 13th, or any Friday.
    assert.equal(iso(nextFire(cron('0 0 13 * 5', 'UTC'), at('2024-09-01T00:00:00Z'), TICK)), '2024-09-06T00:00:00.000Z');
  });

  it('is evaluated in the time zone given: daily at midnight in Berlin is 23:00 UTC in winter, 22:00 in summer', () => {
    assert.equal(iso(nextFire(cron('0 0 * * *', 'Europe/Berlin'), at('2024-01-15T12:00:00Z'), TICK)), '2024-01-15T23:00:00.000Z');
    assert.equal(iso(nextFire(cron('0 0 * * *', 'Europe/Berlin'), at('2024-07-15T12:00:00Z'), TICK)), '2024-07-15T22:00:00.000Z');
  });

  it('DST spring forward: a daily job in the skipped hour runs once that day, right after the gap', () => {
    // Berlin, 2024-03-31: 02:00 local does not exist (clocks go 02:00 -> 03:00 = 01:00 UTC).
    const runs: string[] = [];
    let t = at('2024-03-30T00:00:00Z');
    for (let i = 0; i < 3; i++) {
      t = nextFire(cron('30 2 * * *', 'Europe/Berlin'), t, TICK) as number;
      runs.push(iso(t) as string);
    }
    assert.deepEqual(runs, ['2024-03-30T01:30:00.000Z', '2024-03-31T01:00:00.000Z', '2024-04-01T00:30:00.000Z']);
  });

  it('DST fall back: a daily job in the repeated hour runs once, not twice', () => {
    // Berlin, 2024-10-27: 02:30 local happens at 00:30 UTC and again at 01:30 UTC.
    const first = nextFire(cron('30 2 * * *', 'Europe/Berlin'), at('2024-10-26T23:00:00Z'), TICK) as number;
    const second = nextFire(cron('30 2 * * *', 'Europe/Berlin'), first, TICK) as number;
    assert.equal(iso(first), '2024-10-27T00:30:00.000Z');
    assert.equal(iso(second), '2024-10-28T01:30:00.000Z');
  });

  it('refuses bad expressions with what is wrong', () => {
    assert.throws(() => parseCron('61 * * * *', 'UTC'), /minute: 61/);
    assert.throws(() => parseCron('* * *', 'UTC'), /expected 5 fields/);
    assert.throws(() => parseCron('0 0 * * * *', 'UTC'), /expected 5 fields/);
    assert.throws(() => parseCron('0 0 31 2 *', 'UTC'), /never fires/);
  });
});

describe('ticks and the due rule', () => {
  it('ticks fall on multiples of the interval since the epoch', () => {
    assert.equal(iso(tickAtOrBefore(at('2024-01-01T10:07:59Z'), TICK)), '2024-01-01T10:04:00.000Z');
    assert.equal(iso(nextFire({ kind: 'tick' }, at('2024-01-01T10:04:00Z'), TICK)), '2024-01-01T10:08:00.000Z');
  });

  it('a job type first seen runs at its next fire time, not at once (Frappe counts from creation)', () => {
    const seen = at('2024-01-01T10:04:00Z');
    assert.equal(dueFire(cron('0 * * * *', 'UTC'), seen, TICK, undefined, seen), undefined);
    assert.equal(dueFire({ kind: 'tick' }, seen, TICK, undefined, seen), undefined);
    assert.equal(iso(dueFire(cron('0 * * * *', 'UTC'), at('2024-01-01T11:00:00Z'), TICK, undefined, seen)), '2024-01-01T11:00:00.000Z');
    assert.equal(iso(dueFire({ kind: 'tick' }, at('2024-01-01T10:08:00Z'), TICK, undefined, seen)), '2024-01-01T10:08:00.000Z');
  });

  it('start-up after an outage: one run per event whose time passed (the latest fire), never a backfill', () => {
    const lastRun = at('2024-01-01T10:00:00Z');
    const startUp = at('2024-01-03T15:32:00Z'); // 53 hourly and 2 daily fires were missed
    const hourly = dueFire(cron('0 * * * *', 'UTC'), startUp, TICK, lastRun, 0);
    assert.equal(iso(hourly), '2024-01-03T15:00:00.000Z');
    const daily = dueFire(cron('0 0 * * *', 'UTC'), startUp, TICK, at('2024-01-01T00:00:00Z'), 0);
    assert.equal(iso(daily), '2024-01-03T00:00:00.000Z');
    // Once that run is recorded, the next tick finds nothing more to run: no backfill.
    assert.equal(dueFire(cron('0 * * * *', 'UTC'), startUp + TICK, TICK, hourly, 0), undefined);
    assert.equal(dueFire(cron('0 0 * * *', 'UTC'), startUp + TICK, TICK, daily, 0), undefined);
    // An event whose time did not pass during the outage does not run.
    assert.equal(dueFire(cron('0 0 * * 0', 'UTC'), startUp, TICK, at('2023-12-31T00:00:00Z'), 0), undefined);
  });

  it('a run already claimed for a fire time is never due again for it', () => {
    const fire = at('2024-01-01T11:00:00Z');
    assert.equal(dueFire(cron('0 * * * *', 'UTC'), fire + 1000, TICK, fire, 0), undefined);
  });
});

describe('scheduler_events checks', () => {
  it('maps events to their schedule, names job types and keeps valid entries beside bad ones', () => {
    const { types, entries, problems } = parseEvents(
      'myapp',
      {
        all: ['myapp.tasks.flush'],
        daily_long: ['myapp.tasks.rebuild'],
        hourly: [{ method: 'myapp.tasks.sync', queue: 'short' }],
        cron: { '*/15 9-17 * * 1-5': ['myapp.tasks.poll'], '0 25 * * *': ['myapp.tasks.never'] },
        yearlyy: ['myapp.tasks.x'],
      },
      'UTC',
    );
    assert.deepEqual(
      types.map((t) => [t.name, t.cron]),
      [
        ['all|myapp.tasks.flush', 'every tick'],
        ['daily_long|myapp.tasks.rebuild', '0 0 * * *'],
        ['hourly|myapp.tasks.sync', '0 * * * *'],
        ['cron(*/15 9-17 * * 1-5)|myapp.tasks.poll', '*/15 9-17 * * 1-5'],
      ],
    );
    assert.deepEqual(entries[2], { queue: 'short' });
    assert.equal(problems.length, 2);
    assert.deepEqual({ ...problems[0], message: undefined }, { app: 'myapp', event: 'cron', expression: '0 25 * * *', message: undefined });
    assert.match(problems[0]?.message ?? '', /bad cron expression "0 25 \* \* \*": .*hour/);
    assert.match(problems[1]?.message ?? '', /unknown scheduler event "yearlyy"/);
  });
});

describe('default queue of an event', () => {
  it("is long for *_long and *_maintenance (Frappe's rule), default otherwise", () => {
    for (const event of ['hourly_long', 'daily_long', 'weekly_long', 'monthly_long', 'cron_long', 'hourly_maintenance', 'daily_maintenance']) {
      assert.equal(defaultQueueOf(event), 'long', event);
    }
    for (const event of ['all', 'hourly', 'daily', 'weekly', 'monthly', 'cron']) assert.equal(defaultQueueOf(event), 'default', event);
  });
});

describe('scheduled run ids', () => {
  it('are deterministic, free of ":" and recognised only after the site prefix', () => {
    const id = scheduledJobId('hourly|myapp.tasks.sync', at('2024-01-01T11:00:00Z'));
    assert.equal(id, 'scheduled_job|hourly|myapp.tasks.sync|20240101T110000.000Z');
    assert.equal(isScheduledRun(`s1.test||${id}`, 's1.test'), true);
    assert.equal(isScheduledRun('s1.test||process-42', 's1.test'), false);
    const long = scheduledJobId(`hourly|myapp.${'x'.repeat(250)}.f`, 0);
    assert.ok(long.length <= 200 && long.startsWith('scheduled_job|'), long);
  });
});
