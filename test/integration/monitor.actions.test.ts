// Job actions against a real redis-server: retry, delete, cancel (each fenced by the job's status,
// checked inside its Lua script), requeue of failed jobs and purge of queued jobs, in batches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queueKeys } from '../../src/redis/keys.ts';
import { readJob, startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { useMonitorBenches, failJobs, LONG_SITE, makeScheduled, runningJob, setEvent, SHORT_SITE, SITE } from '../helpers/monitor.ts';
import { queuedCount, queuedIds, clearQueued, unqueue } from '../helpers/queued.ts';

const benches = useMonitorBenches();

const local = (id: string) => id.split('||')[1] as string;

describe('retryJob', () => {
  it('puts a failed job back at the end of its queue, keeping attempts and moving the error to the history', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const { bench, client } = fresh;
    const [id] = (await failJobs(benches.redis, fresh, SITE, ['first try'])) as [string];
    const ahead = await client.enqueue('testapp.tasks.echo', { site: SITE });
    const k = queueKeys(bench.benchId, 'default');

    const job = await client.retryJob(SITE, local(id));
    assert.equal(job.status, 'queued');
    assert.equal(job.error, undefined);
    assert.equal(job.endedAt, undefined);
    assert.equal(job.worker, undefined);
    assert.equal(job.attempts, 1);
    assert.deepEqual(job.errors.map((e) => e.message), ['first try']);
    assert.deepEqual(await queuedIds(benches.redis.client, bench.benchId, 'default'), [ahead, id]);
    assert.equal(await benches.redis.client.zscore(k.failed, id), null);
    assert.equal(await benches.redis.client.ttl(k.job(id)), -1, 'a queued job does not expire');
    assert.ok((await benches.redis.client.zcard(k.marker)) > 0, 'a blocked worker is woken');

    await startSupervisor(bench, { burst: true, queues: ['default'] }).done;
    const again = await waitForStatus(benches.redis.client, bench, 'default', id, 'failed');
    assert.equal(again.attempts, 2);
    assert.equal(again.error?.message, 'first try');
    assert.equal(again.errors.length, 1);
  });

  it('does not repeat an error a retry policy already put last in the history; resets the crash and retry counts', async () => {
    const { bench, client } = await benches.fresh();
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE });
    const k = queueKeys(bench.benchId, 'default');
    const err = { name: 'Error', message: 'again', stack: 'Error: again\n    at x' };
    await unqueue(benches.redis.client, bench.benchId, 'default', id);
    await benches.redis.client
      .multi()
      .hset(k.job(id), 'status', 'failed', 'error', JSON.stringify(err), 'errors', JSON.stringify([{ name: 'Error', message: 'once' }, err]), 'stalls', '4', 'retries', '2')
      .zadd(k.failed, Date.now(), id)
      .exec();
    const job = await client.retryJob(undefined, id);
    assert.deepEqual(job.errors.map((e) => e.message), ['once', 'again']);
    assert.equal(job.stalls, 0);
    assert.equal(await benches.redis.client.hget(k.job(id), 'retries'), null, 'the retry policy starts again');
  });

  it('refuses a job that is not failed or stopped, naming its status, and changes nothing', async () => {
    const { bench, client } = await benches.fresh();
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE });
    const before = await benches.redis.client.hgetall(queueKeys(bench.benchId, 'default').job(id));
    await assert.rejects(client.retryJob(SITE, id), (err: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(err.code, 'ERR_JOB_STATE');
      assert.match(err.message, /is queued; only a failed or stopped job can be retried/);
      assert.equal(err.details?.['status'], 'queued');
      return true;
    });
    assert.deepEqual(await benches.redis.client.hgetall(queueKeys(bench.benchId, 'default').job(id)), before);
    await assert.rejects(client.retryJob(SITE, 'no-such-job'), { code: 'ERR_JOB_NOT_FOUND', message: /site1\.test\|\|no-such-job/ });
    await assert.rejects(client.retryJob(undefined, 'no-such-job'), { code: 'ERR_JOB_NOT_FOUND', message: /give the site/ });
  });

  it('asks for the queue when the id is on several queues', async () => {
    const { client } = await benches.fresh();
    await client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'twin' });
    await client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'twin', queue: 'long' });
    await assert.rejects(client.deleteJob(SITE, 'twin'), { code: 'ERR_JOB_AMBIGUOUS', message: /default, long/ });
    assert.equal((await client.deleteJob(SITE, 'twin', { queue: 'long' })).queue, 'long');
    assert.equal((await client.deleteJob(SITE, 'twin')).queue, 'default');
  });
});

describe('a running job', () => {
  it('is never retried, deleted, canceled or purged; once stopped it can be retried, but is not requeued in bulk', { timeout: 40_000 }, async () => {
    const fresh = await benches.fresh();
    const { bench, client } = fresh;
    const running = await runningJob(fresh, SITE, 'long');
    const k = queueKeys(bench.benchId, 'long');
    try {
      await assert.rejects(client.deleteJob(SITE, running.id), { code: 'ERR_JOB_STATE', message: /is running \(status: started\); stop it first \(bench --site site1\.test stop-job/ });
      await assert.rejects(client.cancelJob(SITE, running.id), { code: 'ERR_JOB_STATE', message: /is started; only a queued or scheduled job can be canceled/ });
      await assert.rejects(client.retryJob(SITE, running.id), { code: 'ERR_JOB_STATE', message: /is started/ });
      assert.equal(await client.purgeJobs(SITE), 0);
      assert.equal((await readJob(benches.redis.client, bench.benchId, 'long', running.id))?.status, 'started');
      assert.ok(await benches.redis.client.zscore(k.active, running.id));
      await client.stopJob(SITE, running.id);
    } finally {
      await running.supervisor.stop();
    }
    assert.equal(await client.requeueFailed(), 0, 'stopped jobs are not requeued in bulk');
    const retried = await client.retryJob(SITE, running.id);
    assert.equal(retried.status, 'queued');
    assert.deepEqual(retried.errors.map((e) => e.code), ['ERR_JOB_STOPPED']);
    assert.deepEqual(await queuedIds(benches.redis.client, bench.benchId, 'long'), [running.id]);
  });
});

describe('deleteJob', () => {
  it('deletes a queued, scheduled, finished or failed job with its list entry, returning it as it was', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const { bench, client } = fresh;
    const k = queueKeys(bench.benchId, 'default');
    const [failed] = (await failJobs(benches.redis, fresh, SITE, ['x'])) as [string];
    const finished = await client.enqueue('testapp.tasks.add', { site: SITE, kwargs: { a: 1, b: 2 } });
    await startSupervisor(bench, { burst: true, queues: ['default'] }).done;
    await waitForStatus(benches.redis.client, bench, 'default', finished, 'finished');
    const [queued, keep, scheduled] = (await client.enqueueMany('testapp.tasks.echo', [{}, {}, {}], { site: SITE })) as [string, string, string];
    await makeScheduled(benches.redis, bench.benchId, 'default', scheduled, Date.now() + 60_000);

    for (const [id, status] of [[queued, 'queued'], [scheduled, 'scheduled'], [finished, 'finished'], [failed, 'failed']] as const) {
      const gone = await client.deleteJob(SITE, local(id));
      assert.deepEqual([gone.id, gone.status], [id, status]);
      assert.equal(await benches.redis.client.exists(k.job(id)), 0);
      await assert.rejects(client.deleteJob(SITE, id), { code: 'ERR_JOB_NOT_FOUND' });
    }
    assert.deepEqual(await queuedIds(benches.redis.client, bench.benchId, 'default'), [keep]);
    for (const set of [k.finished, k.failed, k.delayed]) assert.equal(await benches.redis.client.zcard(set), 0, set);
  });
});

describe('cancelJob', () => {
  it('takes a queued job off its queue and keeps it as canceled for its failure TTL; no worker runs it', { timeout: 30_000 }, async () => {
    const { bench, client } = await benches.fresh({ rq_job_failure_ttl: 3600 });
    const k = queueKeys(bench.benchId, 'default');
    const [id, other] = (await client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE })) as [string, string];
    const job = await client.cancelJob(SITE, local(id));
    assert.equal(job.status, 'canceled');
    assert.ok(job.endedAt && job.endedAt > 0);
    assert.deepEqual(await queuedIds(benches.redis.client, bench.benchId, 'default'), [other]);
    const ttl = await benches.redis.client.ttl(k.job(id));
    assert.ok(ttl > 3590 && ttl <= 3600, `ttl ${ttl}`);
    await startSupervisor(bench, { burst: true, queues: ['default'] }).done;
    await waitForStatus(benches.redis.client, bench, 'default', other, 'finished');
    assert.equal((await client.getJob(SITE, id))?.status, 'canceled');
    await assert.rejects(client.cancelJob(SITE, id), { code: 'ERR_JOB_STATE', message: /is canceled/ });
    await assert.rejects(client.cancelJob(SITE, other), { code: 'ERR_JOB_STATE', message: /is finished; only a queued or scheduled job can be canceled/ });
  });

  it('takes a scheduled job out of the delayed set', async () => {
    const { bench, client } = await benches.fresh();
    const k = queueKeys(bench.benchId, 'short');
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'short' });
    await makeScheduled(benches.redis, bench.benchId, 'short', id, Date.now() + 60_000);
    assert.equal((await client.cancelJob(SITE, id)).status, 'canceled');
    assert.equal(await benches.redis.client.zcard(k.delayed), 0);
    await assert.rejects(client.cancelJob(SITE, 'missing'), { code: 'ERR_JOB_NOT_FOUND' });
  });
});

describe('requeueFailed', () => {
  it('requeues the failed jobs of one site and queue, then all the rest', { timeout: 40_000 }, async () => {
    const fresh = await benches.fresh();
    const { bench, client } = fresh;
    const mine = await failJobs(benches.redis, fresh, SITE, ['a', 'b', 'c']);
    const short = await failJobs(benches.redis, fresh, SITE, ['s'], 'short');
    const theirs = await failJobs(benches.redis, fresh, LONG_SITE, ['au']);
    assert.equal(await client.requeueFailed({ site: SITE, queue: 'default' }), 3);
    const wait = await queuedIds(benches.redis.client, bench.benchId, 'default');
    assert.deepEqual(new Set(wait), new Set(mine));
    assert.equal((await readJob(benches.redis.client, bench.benchId, 'default', theirs[0] as string))?.status, 'failed');
    assert.equal(await client.requeueFailed({ site: SHORT_SITE }), 0, 'a.com does not take a.com.au jobs');
    assert.equal(await client.requeueFailed(), 2);
    assert.equal((await readJob(benches.redis.client, bench.benchId, 'short', short[0] as string))?.status, 'queued');
    assert.equal(await client.requeueFailed(), 0);
  });

  it('works through more failed jobs than one batch', { timeout: 30_000 }, async () => {
    const { bench, client } = await benches.fresh({ max_queued_jobs: 100_000 });
    const k = queueKeys(bench.benchId, 'default');
    const ids = await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 1201 }, (_, n) => ({ n })), { site: SITE });
    await clearQueued(benches.redis.client, bench.benchId, 'default');
    const tx = benches.redis.client.multi();
    ids.forEach((id, i) => tx.hset(k.job(id), 'status', 'failed', 'error', '{"name":"Error","message":"x"}').zadd(k.failed, 1000 + i, id));
    await tx.exec();
    assert.equal(await client.requeueFailed({ site: SITE }), 1201);
    assert.equal(await queuedCount(benches.redis.client, bench.benchId, 'default'), 1201);
    assert.equal((await queuedIds(benches.redis.client, bench.benchId, 'default', SITE)).length, 1201, "in the site's lane");
    assert.equal(await benches.redis.client.zcard(k.failed), 0);
  });
});

describe('purgeJobs', () => {
  it("deletes only the site's queued jobs (one queue, one event when asked), keeping the order of the rest", async () => {
    const { bench, client } = await benches.fresh();
    const k = (q: string) => queueKeys(bench.benchId, q);
    const mine = await client.enqueueMany('testapp.tasks.echo', [{}, {}, {}], { site: SHORT_SITE });
    const theirs = await client.enqueue('testapp.tasks.echo', { site: LONG_SITE });
    const short = await client.enqueue('testapp.tasks.echo', { site: SHORT_SITE, queue: 'short' });
    await setEvent(benches.redis, bench.benchId, 'default', mine[1] as string, 'daily');

    assert.equal(await client.purgeJobs(SHORT_SITE, { event: 'daily' }), 1);
    assert.deepEqual(await queuedIds(benches.redis.client, bench.benchId, 'default'), [mine[0], mine[2], theirs]);
    assert.equal(await client.purgeJobs(SHORT_SITE, { queue: 'short' }), 1);
    assert.equal(await benches.redis.client.exists(k('short').job(short)), 0);
    assert.equal(await client.purgeJobs(SHORT_SITE), 2);
    assert.deepEqual(await queuedIds(benches.redis.client, bench.benchId, 'default'), [theirs]);
    assert.equal(await queuedCount(benches.redis.client, bench.benchId, 'default'), 1, 'the queued count follows the purge');
    assert.deepEqual(await benches.redis.client.lrange(k('default').sites, 0, -1), [LONG_SITE], "an emptied lane leaves the ring");
    assert.equal((await readJob(benches.redis.client, bench.benchId, 'default', theirs))?.status, 'queued');
    await assert.rejects(client.purgeJobs(SITE, { queue: 'nope' }), { code: 'ERR_QUEUE_UNKNOWN' });
  });

  it('purges more jobs than one batch in one pass per batch, leaving the other sites in order', { timeout: 30_000 }, async () => {
    const { bench, client } = await benches.fresh({ max_queued_jobs: 100_000 });
    const others: string[] = [];
    for (let round = 0; round < 5; round++) {
      await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 250 }, () => ({})), { site: SITE });
      others.push(await client.enqueue('testapp.tasks.echo', { site: SHORT_SITE }));
    }
    assert.equal(await client.purgeJobs(SITE), 1250);
    assert.deepEqual(await queuedIds(benches.redis.client, bench.benchId, 'default'), others);
    assert.equal(await queuedCount(benches.redis.client, bench.benchId, 'default'), others.length);
    assert.deepEqual(await benches.redis.client.keys(`${queueKeys(bench.benchId, 'default').prefix}job:${SITE}*`), []);
  });
});

describe('jobs queued before lanes (the legacy wait list)', () => {
  /** Move queued jobs to the legacy wait list, as a bench upgraded with jobs waiting holds them. */
  async function toLegacy(benchId: string, queue: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) await unqueue(benches.redis.client, benchId, queue, id);
    await benches.redis.client.rpush(queueKeys(benchId, queue).wait, ...ids);
  }

  it('are canceled, deleted and purged from the legacy list, and listed before the lanes', async () => {
    const { bench, client } = await benches.fresh();
    const k = queueKeys(bench.benchId, 'default');
    const old = await client.enqueueMany('testapp.tasks.echo', [{}, {}, {}, {}], { site: SITE });
    const oldTheirs = await client.enqueue('testapp.tasks.echo', { site: SHORT_SITE });
    await toLegacy(bench.benchId, 'default', [...old, oldTheirs]);
    const fresh = await client.enqueue('testapp.tasks.echo', { site: SITE });
    assert.deepEqual(await queuedIds(benches.redis.client, bench.benchId, 'default'), [...old, oldTheirs, fresh]);
    assert.equal(await queuedCount(benches.redis.client, bench.benchId, 'default'), 6);
    assert.deepEqual((await client.listJobs({ site: SITE, status: 'queued' })).jobs.map((j) => j.id), [...old, fresh], 'legacy ids of the site first, then its lane');

    assert.equal((await client.cancelJob(SITE, local(old[1] as string))).status, 'canceled');
    assert.equal((await client.deleteJob(SITE, local(old[2] as string))).status, 'queued');
    assert.deepEqual(await benches.redis.client.lrange(k.wait, 0, -1), [old[0], old[3], oldTheirs], 'taken out of the legacy list');
    assert.deepEqual(await benches.redis.client.lrange(k.lane(SITE), 0, -1), [fresh], 'the lane untouched');
    assert.equal(await queuedCount(benches.redis.client, bench.benchId, 'default'), 4);

    assert.equal(await client.purgeJobs(SITE), 3, 'the legacy ids of the site and its lane');
    assert.deepEqual(await queuedIds(benches.redis.client, bench.benchId, 'default'), [oldTheirs]);
    assert.deepEqual(await benches.redis.client.lrange(k.wait, 0, -1), [oldTheirs], 'no hole left near the ends');
    assert.equal(await benches.redis.client.llen(k.lane(SITE)), 0);
    assert.equal(await client.purgeEverySite(), 1);
    assert.equal(await queuedCount(benches.redis.client, bench.benchId, 'default'), 0);
  });
});
