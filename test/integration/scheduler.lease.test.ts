// One ticking scheduler per bench, with real `bench schedule` processes: two run at once and only the
// lease holder ticks; a SIGSTOPped holder loses the lease to the other within the documented time
// (scheduler_lease_ttl + a lease interval) and, resumed, never ticks while the other holds it; a
// SIGKILLed holder is replaced as fast. Over the whole run, scheduled_job_log shows each fire time of
// each method enqueued once, and every tick present (each run by a worker). Also the lease's fencing
// by monotonic time, with a clock the test moves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { defineScripts } from '../../src/redis/scripts.ts';
import { SchedulerLease } from '../../src/scheduler/lease.ts';
import { collectLogs, spawnBench } from '../helpers/cli.ts';
import { exitOf, killGroup } from '../helpers/process.ts';
import { leasePid, readLog } from '../helpers/scheduler.ts';
import { writeSchedApp } from '../helpers/scheduler.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';

const benches = useRedisBenches();
const SITE = 'site1.test';
const TICK_MS = 2000;
const LEASE_TTL_MS = 1000;
/** Documented takeover: the TTL plus one lease interval (a quarter of it); the rest is slack for a loaded machine. */
const TAKEOVER_LIMIT_MS = LEASE_TTL_MS + 250 + 1500;

describe('scheduler lease', () => {
  it('fences by local monotonic time: not held once TTL - margin passed, whatever Redis still holds', async () => {
    const bench = benches.newBench();
    const redis = new Redis(benches.redis.url);
    defineScripts(redis);
    try {
      let now = 0;
      const a = new SchedulerLease(redis, bench.benchId, { ttlMs: 60_000, monotonic: () => now });
      const b = new SchedulerLease(redis, bench.benchId, { ttlMs: 60_000, monotonic: () => now });
      assert.equal(await a.acquire(), true);
      assert.equal(await b.acquire(), false, 'a second holder must wait');
      assert.equal(a.held(), true);
      now = 44_999;
      assert.equal(a.held(), true);
      now = 45_000; // 60 s TTL less its 15 s margin: the key still lives in Redis, but a no longer proves it holds it
      assert.equal(a.held(), false);
      assert.equal(await a.renew(), true, 'its own lease, still in Redis, renews');
      assert.equal(a.held(), true);
      await redis.del(`bw:{${bench.benchId}}:scheduler:lease`);
      assert.equal(await a.renew(), false, 'a lease that expired is not renewed');
      assert.equal(a.held(), false);
      assert.equal(await b.acquire(), true);
      assert.equal(await a.acquire(), false);
    } finally {
      redis.disconnect();
    }
  });

  it('two `bench schedule`: one ticks; SIGSTOP and SIGKILL hand over in time; no fire time runs twice', { timeout: 90_000 }, async () => {
    const bench = benches.newBench({ common: { scheduler_tick_interval: TICK_MS / 1000, scheduler_lease_ttl: LEASE_TTL_MS / 1000, worker_lease_ttl: 5 } });
    writeSchedApp(bench, `export const scheduler_events = { all: ['schedapp.tasks.noop'] };\n`);
    const redis = benches.redis.client;
    const worker = spawnBench(['worker', '--queue', 'default,long', '--quiet'], { cwd: bench.path, detached: true });
    const a = spawnBench(['schedule'], { cwd: bench.path, detached: true });
    const aLogs = collectLogs(a);
    let b: ReturnType<typeof spawnBench> | undefined;
    const byScheduler = (pid: number | undefined) => (row: { scheduler: string | null; job_id: string | null }) => row.job_id !== null && row.scheduler === `${hostname()}:${String(pid)}`;
    try {
      await waitFor(async () => (await leasePid(redis, bench.benchId)) === a.pid, { what: 'the first scheduler to hold the lease' });
      b = spawnBench(['schedule'], { cwd: bench.path, detached: true });
      const bLogs = collectLogs(b);
      await waitFor(() => bLogs.lines.some((l) => l['msg'] === 'scheduler started'), { what: 'the second scheduler to start' });
      await waitFor(() => readLog(bench, SITE).filter((r) => r.status === 'Complete').length >= 2, { timeoutMs: 15_000, what: 'two runs by a worker' });
      assert.equal(readLog(bench, SITE).filter(byScheduler(b.pid)).length, 0, 'the waiting scheduler ticked');

      // SIGSTOP the holder: the other takes over within the documented time.
      process.kill(a.pid as number, 'SIGSTOP');
      const stoppedAt = Date.now();
      await waitFor(async () => (await leasePid(redis, bench.benchId)) === b?.pid, { timeoutMs: 10_000, intervalMs: 20, what: 'takeover after SIGSTOP' });
      const takeoverAfterStop = Date.now() - stoppedAt;
      assert.ok(takeoverAfterStop <= TAKEOVER_LIMIT_MS, `takeover took ${takeoverAfterStop} ms`);
      await waitFor(() => readLog(bench, SITE).some(byScheduler(b?.pid)), { timeoutMs: 10_000, what: 'a tick by the new holder' });

      // Resume it: it finds its lease lost and does not tick while the other holds it.
      const resumedAt = Date.now();
      process.kill(a.pid as number, 'SIGCONT');
      await waitFor(() => aLogs.lines.some((l) => l['msg'] === 'scheduler lease lost' && Number(l['time']) >= resumedAt), { what: 'the resumed holder to see its lease lost' });
      const bRuns = readLog(bench, SITE).filter(byScheduler(b.pid)).length;
      await waitFor(() => readLog(bench, SITE).filter(byScheduler(b?.pid)).length >= bRuns + 2, { timeoutMs: 15_000, what: 'two more ticks by the new holder' });
      const aTicksAfterResume = aLogs.lines.filter((l) => l['msg'] === 'scheduler tick started' && Number(l['time']) >= resumedAt);
      assert.deepEqual(aTicksAfterResume, [], 'the resumed scheduler ticked without the lease');

      // SIGKILL the new holder: the first one takes the lease again and ticks again.
      const aRuns = readLog(bench, SITE).filter(byScheduler(a.pid)).length;
      killGroup(b);
      const killedAt = Date.now();
      await waitFor(async () => (await leasePid(redis, bench.benchId)) === a.pid, { timeoutMs: 10_000, intervalMs: 20, what: 'takeover after SIGKILL' });
      const takeoverAfterKill = Date.now() - killedAt;
      assert.ok(takeoverAfterKill <= TAKEOVER_LIMIT_MS, `takeover took ${takeoverAfterKill} ms`);
      await waitFor(() => readLog(bench, SITE).filter(byScheduler(a.pid)).length > aRuns, { timeoutMs: 10_000, what: 'a tick by the first scheduler again' });
      const lastFire = Math.max(...readLog(bench, SITE).map((r) => r.scheduled_for));
      await waitFor(() => readLog(bench, SITE).some((r) => r.scheduled_for === lastFire && r.status === 'Complete'), { timeoutMs: 10_000, what: 'the last run to complete' });

      a.kill('SIGTERM');
      await exitOf(a, 10_000, 'the scheduler to stop');
      const rows = readLog(bench, SITE).filter((r) => r.job_id !== null);
      // No (site, method, fire time) enqueued twice, and each job id once.
      const fires = rows.map((r) => `${r.scheduled_job_type}@${r.scheduled_for}`);
      assert.equal(new Set(fires).size, fires.length, `a fire time ran twice: ${fires.join(', ')}`);
      // Every tick between the first and the last is there (the catch-up at each takeover runs the
      // tick the dead holder missed), and every one up to the last ran in a worker.
      const times = rows.map((r) => r.scheduled_for).sort((x, y) => x - y);
      const missing: number[] = [];
      for (let t = times[0] as number; t <= (times.at(-1) as number); t += TICK_MS) if (!times.includes(t)) missing.push(t);
      assert.deepEqual(missing.map((t) => new Date(t).toISOString()), [], 'ticks with neither a run nor a Skipped row');
      assert.deepEqual(rows.filter((r) => r.status !== 'Complete').map((r) => [r.job_id, r.status]), []);
      assert.ok(rows.every((r) => (r.start_time as number) >= r.scheduled_for && (r.end_time as number) >= (r.start_time as number)));
    } finally {
      if (a.exitCode === null && a.signalCode === null) {
        process.kill(a.pid as number, 'SIGCONT');
        killGroup(a);
      }
      if (b) killGroup(b);
      worker.kill('SIGTERM');
      await exitOf(worker, 20_000, 'the worker to stop').catch(() => killGroup(worker));
    }
  });
});
