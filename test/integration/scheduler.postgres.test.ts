// The scheduler's records on a PostgreSQL site: the tables are created in the site's schema, two ticks
// of the same fire time at once claim it once (the UPDATE that moves last_execution forward only), and
// the worker that runs the job writes its log row's start, end and status there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { runTick } from '../../src/scheduler/tick.ts';
import { startSupervisor } from '../helpers/jobs.ts';
import { writeSchedApp } from '../helpers/scheduler.ts';
import { useDatabaseBenchSuite } from '../helpers/suite.ts';

const SITE = 'pgsched.test';
const suite = useDatabaseBenchSuite((postgresSite) => ({ [SITE]: { ...postgresSite, time_zone: 'UTC' } }));
const HOUR = 3_600_000;
const T0 = Date.UTC(2030, 0, 1, 0, 2);
const always = () => true;

interface LogRow {
  status: string;
  job_id: string | null;
  scheduled_for: string;
  start_time: string | null;
  end_time: string | null;
}

describe('scheduler records (PostgreSQL)', () => {
  it('claims a fire time once from two ticks at once; the worker completes its log row', { timeout: 60_000 }, async () => {
    writeSchedApp(suite.bench, `export const scheduler_events = { hourly: ['schedapp.tasks.noop'] };\n`);
    const client = await BenchClient.open({ benchPath: suite.bench.path });
    try {
      const env = await client.schedulerEnv();
      assert.equal((await runTick(env, T0, always)).enqueued, 0, 'first seen: due at its next fire time only');
      const ticks = await Promise.all([runTick(env, T0 + HOUR, always), runTick(env, T0 + HOUR, always)]);
      assert.deepEqual(
        ticks.map((t) => t.failedSites),
        [[], []],
      );
      assert.equal(ticks[0].enqueued + ticks[1].enqueued, 1, 'one of the two ticks enqueued the run');

      await startSupervisor(suite.bench, { burst: true }).done;
      const db = suite.schema.client;
      const log = (await db.query<LogRow>('SELECT status, job_id, scheduled_for, start_time, end_time FROM scheduled_job_log ORDER BY id')).rows;
      assert.equal(log.length, 1, JSON.stringify(log));
      const [row] = log as [LogRow];
      assert.equal(row.status, 'Complete');
      assert.equal(Number(row.scheduled_for), Date.UTC(2030, 0, 1, 1, 0), 'the fire time (01:00), not the tick (01:02)');
      assert.match(row.job_id ?? '', /^pgsched\.test\|\|scheduled_job\|hourly\|schedapp\.tasks\.noop\|20300101T010000\.000Z$/);
      assert.ok(Number(row.start_time) > 0 && Number(row.end_time) >= Number(row.start_time), JSON.stringify(row));

      const types = (await db.query<{ last_execution: string; next_execution: string; last_job_id: string }>('SELECT last_execution, next_execution, last_job_id FROM scheduled_job_type')).rows;
      assert.equal(types.length, 1);
      assert.equal(Number(types[0]?.last_execution), Date.UTC(2030, 0, 1, 1, 0));
      assert.equal(Number(types[0]?.next_execution), Date.UTC(2030, 0, 1, 2, 0), 'the next hour');
      assert.equal(types[0]?.last_job_id, row.job_id);

      // The same fire time again (a stale holder's late tick): nothing more.
      assert.equal((await runTick(env, T0 + HOUR, always)).enqueued, 0);
      assert.equal((await db.query('SELECT 1 FROM scheduled_job_log')).rowCount, 1);
    } finally {
      await client.close();
    }
  });
});
