// Frappe's stuck-dedup cases, with real Redis, a real site database and a real worker, and tick times
// the test chooses: a method whose previous run is still queued or running is skipped (a Skipped log
// row), but a stale previous run never blocks: its job hash gone, or its worker SIGKILLed and its
// liveness stamp lapsed. Also: paused, disabled and maintenance sites are skipped, and a site whose
// database fails does not stop the others.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queueKeys } from '../../src/redis/keys.ts';
import { runTick } from '../../src/scheduler/tick.ts';
import { writeLog } from '../../src/scheduler/records.ts';
import { ensureSchedulerTables, JOB_LOG_TABLE } from '../../src/db/scheduler-log.ts';
import { BenchClient } from '../../src/client.ts';
import { spawnBench } from '../helpers/cli.ts';
import { exitOf, killGroup } from '../helpers/process.ts';
import { readLog, writeSchedApp } from '../helpers/scheduler.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { unqueue } from '../helpers/queued.ts';
import { waitFor } from '../helpers/wait-for.ts';

const benches = useRedisBenches();
const SITE = 'site1.test';
const HOUR = 3_600_000;
const T0 = Date.UTC(2030, 0, 1, 0, 2);
const always = () => true;

describe('scheduler dedup without getting stuck', () => {
  it('skips while the previous run is queued or running; a gone hash or a dead worker never blocks', { timeout: 60_000 }, async () => {
    const bench = benches.newBench({ common: { worker_lease_ttl: 1, time_zone: 'UTC' } });
    writeSchedApp(bench, `export const scheduler_events = { hourly: ['schedapp.tasks.slow'] };\n`);
    const client = await BenchClient.open({ benchPath: bench.path });
    const redis = benches.redis.client;
    const keys = queueKeys(bench.benchId, 'default');
    const env = await client.schedulerEnv();
    const jobIds = () => readLog(bench, SITE).filter((r) => r.job_id !== null).map((r) => r.job_id as string);
    let worker: ReturnType<typeof spawnBench> | undefined;
    try {
      assert.equal((await runTick(env, T0, always)).enqueued, 0, 'first seen: due at its next fire time only');
      assert.equal((await runTick(env, T0 + HOUR, always)).enqueued, 1);
      const [first] = jobIds();
      assert.equal(await redis.hget(keys.job(first as string), 'status'), 'queued');

      // Still queued: skipped, and logged as such.
      const blocked = await runTick(env, T0 + 2 * HOUR, always);
      assert.deepEqual([blocked.enqueued, blocked.skipped], [0, 1]);
      assert.match(readLog(bench, SITE).at(-1)?.details ?? '', /is still queued/);

      // Stale: its hash is gone (expired, deleted). It no longer blocks; the missed hour runs once.
      await redis.del(keys.job(first as string));
      assert.equal((await runTick(env, T0 + 2 * HOUR + 240_000, always)).enqueued, 1);
      const second = jobIds().at(-1) as string;
      assert.match(second, /20300101T020000\.000Z$/);

      // Running in a live worker: skipped.
      // Its id, left in its site's lane, would only be dropped by the worker: taken out, counted out of the
      // queue's length (the lane still holds the second run, so its site stays in the ring).
      assert.equal(await unqueue(redis, bench.benchId, 'default', first as string), 1);
      worker = spawnBench(['worker', '--queue', 'default', '--quiet'], { cwd: bench.path, detached: true });
      await waitFor(async () => (await redis.hget(keys.job(second), 'status')) === 'started', { timeoutMs: 15_000, what: 'the run to start' });
      const running = await runTick(env, T0 + 3 * HOUR, always);
      assert.deepEqual([running.enqueued, running.skipped], [0, 1]);
      assert.match(readLog(bench, SITE).at(-1)?.details ?? '', /is still running/);

      // Its worker SIGKILLed (supervisor and processes): once its stamp lapses it no longer blocks.
      killGroup(worker);
      await exitOf(worker, 10_000);
      const owner = (await redis.hget(keys.job(second), 'worker')) as string;
      await waitFor(async () => Number((await redis.zscore(keys.owners, owner)) ?? 0) < Number((await redis.time())[0]) * 1000, { timeoutMs: 10_000, what: 'the dead worker\'s stamp to lapse' });
      assert.equal(await redis.hget(keys.job(second), 'status'), 'started', 'no reaper ran: the job still looks running');
      assert.equal((await runTick(env, T0 + 3 * HOUR + 240_000, always)).enqueued, 1);
      assert.match(jobIds().at(-1) as string, /20300101T030000\.000Z$/);

      // Every fire time once.
      const fires = readLog(bench, SITE).filter((r) => r.job_id !== null).map((r) => r.scheduled_for);
      assert.deepEqual(fires, [T0 - 120_000 + HOUR, T0 - 120_000 + 2 * HOUR, T0 - 120_000 + 3 * HOUR]);
    } finally {
      if (worker) killGroup(worker);
      await client.close();
    }
  });

  it('skips paused, disabled and maintenance sites, and one failing site does not stop the others', async () => {
    const bench = benches.newBench({
      common: { time_zone: 'UTC' },
      sites: {
        'paused.test': { pause_scheduler: 1 },
        'disabled.test': { disable_scheduler: true },
        'maint.test': { maintenance_mode: 1 },
        'broken.test': { db_type: 'postgres', db_url: 'postgres://nobody@127.0.0.1:1/none' },
        'ok.test': {},
      },
    });
    writeSchedApp(bench, `export const scheduler_events = { hourly: ['schedapp.tasks.noop'] };\n`);
    const client = await BenchClient.open({ benchPath: bench.path });
    try {
      const env = await client.schedulerEnv();
      await runTick(env, T0, always);
      const result = await runTick(env, T0 + HOUR, always);
      assert.deepEqual(result.sitesSkipped.sort(), ['disabled.test', 'maint.test', 'paused.test']);
      assert.deepEqual(result.failedSites, ['broken.test']);
      assert.equal(result.enqueued, 1);
      assert.equal(readLog(bench, 'ok.test').filter((r) => r.status === 'Queued').length, 1);
      assert.deepEqual(readLog(bench, 'paused.test'), []);
    } finally {
      await client.close();
    }
  });

  it('prunes log rows older than scheduler_log_days, and keeps them all with 0', async () => {
    const bench = benches.newBench({ common: { time_zone: 'UTC', scheduler_log_days: 1 }, sites: { [SITE]: {}, 'keep.test': { scheduler_log_days: 0 } } });
    writeSchedApp(bench, `export const scheduler_events = { hourly: ['schedapp.tasks.noop'] };\n`);
    const client = await BenchClient.open({ benchPath: bench.path });
    try {
      const env = await client.schedulerEnv();
      const now = Date.now();
      for (const site of [SITE, 'keep.test']) {
        const db = env.siteDb(site);
        await ensureSchedulerTables(db);
        for (const [name, age] of [['old', 2 * 86_400_000], ['recent', 3_600_000]] as const) {
          await writeLog(db, { jobType: `hourly|${name}`, method: name, scheduledFor: now - age, jobId: `${site}||${name}`, status: 'Complete', scheduler: 'test' });
          await db.run(`UPDATE ${JOB_LOG_TABLE} SET creation = ? WHERE job_id = ?`, [now - age, `${site}||${name}`]);
        }
      }
      await runTick(env, T0, always);
      assert.deepEqual(readLog(bench, SITE).map((r) => r.job_id), [`${SITE}||recent`], 'the 2-day-old row went, the 1-hour-old one stayed');
      assert.deepEqual(readLog(bench, 'keep.test').map((r) => r.job_id), ['keep.test||old', 'keep.test||recent']);
    } finally {
      await client.close();
    }
  });
});
