// Monitoring reads against a real redis-server: the worker registry (getWorkers), Frappe's get_jobs
// (queued + running per site) and listJobs by status with site/queue filters, order and paging.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchKeys, queueKeys } from '../../src/redis/keys.ts';
import { startSupervisor } from '../helpers/jobs.ts';
import { useMonitorBenches, failJobs, LONG_SITE, makeScheduled, runningJob, SHORT_SITE, SITE } from '../helpers/monitor.ts';
import { waitFor } from '../helpers/wait-for.ts';

const benches = useMonitorBenches();

describe('getWorkers', () => {
  it('lists each live worker process with typed fields, filters by queue, and forgets stopped workers', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    assert.deepEqual(await fresh.client.getWorkers(), []);
    const w = startSupervisor(fresh.bench, { numWorkers: 2, queues: ['short', 'default'] });
    try {
      const workers = await waitFor(async () => {
        const list = await fresh.client.getWorkers();
        return list.length === 2 ? list : undefined;
      }, { what: 'two workers in the registry' });
      for (const worker of workers) {
        assert.deepEqual(worker.queues, ['short', 'default']);
        assert.equal(worker.state, 'idle');
        assert.deepEqual(worker.currentJobs, []);
        assert.equal(worker.supervisorPid, process.pid);
        assert.ok(worker.pid > 0 && worker.pid !== process.pid);
        assert.match(worker.name, new RegExp(`\\.${worker.pid}\\.[0-9a-f]{6}$`), 'host.pid.tag');
        assert.ok(worker.host.length > 0);
        assert.ok(worker.birth > 0 && worker.lastHeartbeat >= worker.birth);
        assert.equal(worker.successfulJobCount, 0);
        assert.equal(worker.failedJobCount, 0);
        assert.equal(typeof worker.totalWorkingTime, 'number');
      }
      assert.equal((await fresh.client.getWorkers('default')).length, 2);
      assert.deepEqual(await fresh.client.getWorkers('long'), []);
    } finally {
      await w.stop();
    }
    assert.deepEqual(await fresh.client.getWorkers(), []);
  });

  it('leaves out a registry name whose heartbeat hash has expired', async () => {
    const fresh = await benches.fresh();
    await benches.redis.client.zadd(benchKeys(fresh.bench.benchId).workers, Date.now(), 'gone.123');
    assert.deepEqual(await fresh.client.getWorkers(), []);
  });
});

describe('getJobs', () => {
  it('returns queued and running jobs grouped by site, for one site or one queue', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const { client } = fresh;
    const running = await runningJob(fresh, SITE, 'long');
    try {
      const q1 = await client.enqueue('testapp.tasks.echo', { site: SITE });
      const q2 = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'short' });
      const other = await client.enqueue('testapp.tasks.echo', { site: SHORT_SITE });
      const longer = await client.enqueue('testapp.tasks.echo', { site: LONG_SITE });

      const all = await client.getJobs();
      assert.deepEqual(Object.keys(all).sort(), [LONG_SITE, SHORT_SITE, SITE].sort());
      assert.deepEqual(all[SITE]?.map((j) => j.id), [q2, q1, running.id], 'queued in queue order, then running');
      assert.equal(all[SITE]?.[2]?.status, 'started');
      assert.deepEqual(all[SHORT_SITE]?.map((j) => j.id), [other]);
      assert.deepEqual(all[LONG_SITE]?.map((j) => j.id), [longer]);

      assert.deepEqual(Object.keys(await client.getJobs(SHORT_SITE)), [SHORT_SITE], 'a.com does not match a.com.au');
      assert.deepEqual(await client.getJobs(undefined, 'long'), { [SITE]: [(all[SITE] ?? [])[2]] });
      assert.deepEqual(await client.getJobs('nobody.test'), {});
    } finally {
      await client.stopJob(SITE, running.id);
      await running.supervisor.stop();
    }
  });
});

describe('listJobs', () => {
  it('lists queued jobs next-to-run first over the queues in priority order, paged, with the total', async () => {
    const { client } = await benches.fresh();
    const d = await client.enqueueMany('testapp.tasks.echo', [{ n: 1 }, { n: 2 }, { n: 3 }], { site: SITE });
    const s = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'short' });
    const front = await client.enqueue('testapp.tasks.echo', { site: SITE, atFront: true });
    const page = await client.listJobs({ status: 'queued' });
    assert.deepEqual(page.jobs.map((j) => j.id), [s, front, ...d]);
    assert.equal(page.total, 5);
    assert.deepEqual(page.jobs[2]?.kwargs, { n: 1 }, 'records are read whole');
    const second = await client.listJobs({ status: 'queued', offset: 2, limit: 2 });
    assert.deepEqual(second.jobs.map((j) => j.id), [d[0], d[1]]);
    assert.deepEqual({ total: second.total, offset: second.offset, limit: second.limit }, { total: 5, offset: 2, limit: 2 });
    assert.deepEqual((await client.listJobs({ status: 'queued', offset: 5 })).jobs, []);
    assert.deepEqual((await client.listJobs({ status: 'queued', queue: 'short' })).jobs.map((j) => j.id), [s]);
  });

  it('filters by exact site prefix: a.com never lists a.com.au', async () => {
    const { client } = await benches.fresh();
    const a = await client.enqueue('testapp.tasks.echo', { site: SHORT_SITE });
    const au = await client.enqueue('testapp.tasks.echo', { site: LONG_SITE });
    assert.deepEqual((await client.listJobs({ status: 'queued', site: SHORT_SITE })).jobs.map((j) => j.id), [a]);
    assert.deepEqual((await client.listJobs({ status: 'queued', site: LONG_SITE })).jobs.map((j) => j.id), [au]);
    assert.equal((await client.listJobs({ status: 'queued', site: 'a' })).total, 0);
  });

  it('lists failed and finished jobs newest first, with their error or result', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const { client } = fresh;
    const failed = await failJobs(benches.redis, fresh, SITE, ['one', 'two', 'three']);
    await failJobs(benches.redis, fresh, SHORT_SITE, ['other site']);
    const page = await client.listJobs({ status: 'failed', site: SITE });
    assert.equal(page.total, 3);
    assert.deepEqual(new Set(page.jobs.map((j) => j.id)), new Set(failed));
    const ended = page.jobs.map((j) => j.endedAt ?? 0);
    assert.deepEqual(ended, [...ended].sort((a, b) => b - a), 'newest first');
    assert.ok(page.jobs.every((j) => j.status === 'failed' && j.error?.message !== undefined && j.error.stack !== undefined));
    assert.equal((await client.listJobs({ status: 'failed' })).total, 4);

    const done = await client.enqueueMany('testapp.tasks.add', [{ a: 1, b: 1 }, { a: 2, b: 2 }], { site: SITE });
    await startSupervisor(fresh.bench, { burst: true, queues: ['default'] }).done;
    const finished = await client.listJobs({ status: 'finished' });
    assert.deepEqual(new Set(finished.jobs.map((j) => j.id)), new Set(done));
    assert.deepEqual(new Set(finished.jobs.map((j) => j.result)), new Set([2, 4]));
    const ends = finished.jobs.map((j) => j.endedAt ?? 0);
    assert.deepEqual(ends, [...ends].sort((a, b) => b - a));
  });

  it('tells stopped from failed jobs (they share the failed set) and lists running jobs', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const { client } = fresh;
    const [failed] = await failJobs(benches.redis, fresh, SITE, ['boom']);
    const running = await runningJob(fresh, SITE, 'long');
    try {
      const started = await client.listJobs({ status: 'started' });
      assert.deepEqual(started.jobs.map((j) => [j.id, j.status, j.queue]), [[running.id, 'started', 'long']]);
      assert.ok(started.jobs[0]?.worker);
      await client.stopJob(SITE, running.id);
    } finally {
      await running.supervisor.stop();
    }
    assert.deepEqual((await client.listJobs({ status: 'stopped' })).jobs.map((j) => j.id), [running.id]);
    assert.deepEqual((await client.listJobs({ status: 'failed' })).jobs.map((j) => j.id), [failed]);
    assert.equal((await client.listJobs({ status: 'started' })).total, 0);
  });

  it('lists scheduled jobs soonest first', async () => {
    const { bench, client } = await benches.fresh();
    const [late, soon] = await client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE });
    const now = Date.now();
    await makeScheduled(benches.redis, bench.benchId, 'default', late as string, now + 120_000);
    await makeScheduled(benches.redis, bench.benchId, 'default', soon as string, now + 60_000);
    const page = await client.listJobs({ status: 'scheduled', site: SITE });
    assert.deepEqual(page.jobs.map((j) => [j.id, j.status, j.runAt]), [[soon, 'scheduled', now + 60_000], [late, 'scheduled', now + 120_000]]);
    assert.equal((await client.listJobs({ status: 'queued' })).total, 0);
  });

  it('leaves out finished ids whose record has expired', async () => {
    const { bench, client } = await benches.fresh();
    const k = queueKeys(bench.benchId, 'default');
    await benches.redis.client.zadd(k.finished, Date.now() - 1000, `${SITE}||expired`, Date.now() + 60_000, `${SITE}||hash-gone`);
    const page = await client.listJobs({ status: 'finished' });
    assert.deepEqual(page.jobs, []);
    assert.equal(page.total, 1, 'only the id not yet past its expiry is counted');
  });

  it('refuses an unknown status, an unknown queue and a bad limit or offset', async () => {
    const { client } = await benches.fresh();
    await assert.rejects(client.listJobs({ status: 'canceled' as 'queued' }), { code: 'ERR_USAGE', message: /unknown job status "canceled"/ });
    await assert.rejects(client.listJobs({ status: 'queued', queue: 'nope' }), { code: 'ERR_QUEUE_UNKNOWN' });
    await assert.rejects(client.listJobs({ status: 'queued', limit: 0 }), { code: 'ERR_USAGE', message: /limit/ });
    await assert.rejects(client.listJobs({ status: 'queued', offset: -1 }), { code: 'ERR_USAGE', message: /offset/ });
  });
});
