// The Redis protocol at script level, against a real redis-server: atomic enqueue, claim with lease,
// fencing of every exit from in-flight, replay safety, and the reaper.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadBenchConfig } from '../../src/config/load.ts';
import { BenchClient } from '../../src/queue/client.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { defineScripts, runScript } from '../../src/redis/scripts.ts';
import { Broker } from '../../src/worker/broker.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { readJob } from '../helpers/jobs.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
let bench: TestBench;
let client: BenchClient;
let scripted: Redis;
let broker: Broker;
const SITE = 'site1.test';
const LEASE = 30_000;

before(async () => {
  redis = await startRedis();
  bench = makeBench({ redisUrl: redis.url });
  client = await BenchClient.open({ benchPath: bench.path });
  scripted = new Redis(redis.port, '127.0.0.1');
  defineScripts(scripted);
  broker = new Broker(scripted, loadBenchConfig(bench.path).settings.bench_id, 'test-worker');
});

after(async () => {
  scripted.disconnect();
  await client.close();
  await redis.stop();
  bench.remove();
});

beforeEach(async () => {
  await redis.client.flushdb(); // this Redis is private to this test file
});

const keys = () => queueKeys(bench.benchId, 'default');

describe('enqueue', () => {
  it('writes the job hash, the pending push and the wake-up marker together', async () => {
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE, kwargs: { a: 1 } });
    assert.deepEqual(await redis.client.lrange(keys().wait, 0, -1), [id]);
    assert.equal(await redis.client.zcard(keys().marker), 1);
    const job = await readJob(redis.client, bench.benchId, 'default', id);
    assert.equal(job?.status, 'queued');
    assert.deepEqual(job?.kwargs, { a: 1 });
  });

  it('a replay of the same request (same nonce) is a no-op; another request for a live id is refused', async () => {
    const k = keys();
    const call = (nonce: string) =>
      runScript(scripted, 'enqueue', [k.wait, k.marker, k.finished, k.failed, k.delayed, k.job('s||x')], ['0', '0', '0', '0', '1', 'site', SITE, 's||x', '{}', nonce]);
    assert.deepEqual(await call('n1'), [1]);
    assert.deepEqual(await call('n1'), [2]);
    assert.deepEqual(await call('n2'), [-1]);
    assert.equal(await redis.client.llen(k.wait), 1);
  });

  it('replaces a finished job that reuses its id', async () => {
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'reuse' });
    const [claimed] = (await broker.claim(['default'], 1, LEASE)).jobs;
    assert.ok(claimed);
    assert.equal(await broker.finish(claimed, 'finished', '"r"', 600, 10), 1);
    assert.equal(await client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'reuse' }), id);
    assert.equal((await readJob(redis.client, bench.benchId, 'default', id))?.status, 'queued');
    assert.equal(await redis.client.zscore(keys().finished, id), null);
  });
});

describe('claim', () => {
  it('moves ids into the active set with a server-timed lease and a token, in priority order', async () => {
    const long = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' });
    const short = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'short' });
    const [t] = await redis.client.time();
    const claimed = (await broker.claim(['short', 'default', 'long'], 5, LEASE)).jobs;
    assert.deepEqual(claimed.map((c) => c.id), [short, long]);
    const deadline = Number(await redis.client.zscore(queueKeys(bench.benchId, 'short').active, short));
    assert.ok(Math.abs(deadline - (Number(t) * 1000 + LEASE)) < 2000, 'deadline = Redis TIME + lease');
    const job = await readJob(redis.client, bench.benchId, 'short', short);
    assert.equal(job?.status, 'started');
    assert.equal(job?.worker, 'test-worker');
    assert.equal(await redis.client.hget(queueKeys(bench.benchId, 'short').job(short), 'token'), claimed[0]?.token);
  });

  it('claims no more than asked and keeps the marker while work remains', async () => {
    await client.enqueueMany('testapp.tasks.echo', [{}, {}, {}], { site: SITE });
    await redis.client.del(keys().marker);
    assert.equal(((await broker.claim(['default'], 2, LEASE)).jobs).length, 2);
    assert.equal(await redis.client.llen(keys().wait), 1);
    assert.equal(await redis.client.zcard(keys().marker), 1, 'marker set again so another worker wakes');
  });

  it('a replayed claim returns the jobs of the first call instead of claiming more', async () => {
    await client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE });
    const k = keys();
    const claim = async () => ((await runScript(scripted, 'claim', [k.wait, k.active, k.marker, k.delayed], [1, LEASE, 'w', 'req-1', k.prefix])) as unknown[][]).slice(1);
    const first = await claim();
    const second = await claim();
    assert.equal(first.length, 1);
    assert.deepEqual(second.map((r) => r[1]), first.map((r) => r[1]));
    assert.equal(await redis.client.llen(k.wait), 1, 'the second job is still pending');
  });

  it('drops an id whose job hash was deleted', async () => {
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE });
    await redis.client.del(keys().job(id));
    assert.deepEqual((await broker.claim(['default'], 1, LEASE)).jobs, []);
    assert.equal(await redis.client.zcard(keys().active), 0);
  });
});

describe('fencing', () => {
  it('only the current token may finish; a replayed finish is a no-op', async () => {
    await client.enqueue('testapp.tasks.echo', { site: SITE });
    const [job] = (await broker.claim(['default'], 1, LEASE)).jobs;
    assert.ok(job);
    assert.equal(await broker.finish({ ...job, token: 'stale' }, 'finished', '"x"', 600, 10), -1);
    assert.equal((await readJob(redis.client, bench.benchId, 'default', job.id))?.status, 'started', 'a stale token writes nothing');
    assert.equal(await broker.finish(job, 'finished', '"ok"', 600, 10), 1);
    assert.equal(await broker.finish(job, 'finished', '"ok"', 600, 10), 0);
    assert.equal(await broker.finish({ ...job, id: 'site1.test||nope' }, 'finished', '1', 600, 10), -2);
  });

  it('renews only leases whose token still matches', async () => {
    await client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE });
    const [a, b] = (await broker.claim(['default'], 2, 1000)).jobs;
    assert.ok(a && b);
    const lost = await broker.extendLeases('default', [a, { ...b, token: 'stale' }], LEASE);
    assert.deepEqual(lost, [b.id]);
    const [t] = await redis.client.time();
    assert.ok(Number(await redis.client.zscore(keys().active, a.id)) > Number(t) * 1000 + LEASE - 2000);
  });

  it('release hands a job back to the front of its queue, fenced by the token', async () => {
    const [first, second] = await client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE });
    const [job] = (await broker.claim(['default'], 1, LEASE)).jobs;
    assert.equal(job?.id, first);
    assert.ok(job);
    assert.equal(await broker.release({ ...job, token: 'stale' }, 'blameless', 3, 'test', 100), -1);
    assert.equal(await broker.release(job, 'blameless', 3, 'test', 100), 1);
    assert.deepEqual(await redis.client.lrange(keys().wait, 0, -1), [first, second]);
    const back = await readJob(redis.client, bench.benchId, 'default', job.id);
    assert.equal(back?.status, 'queued');
    assert.equal(back?.stalls, 0, 'a plain hand-back is not a crash');
    assert.equal(back?.attempts, 1, 'the job ran: its attempt stays counted');
  });

  it('release of a job that never started takes back the attempt its claim counted', async () => {
    const [id] = await client.enqueueMany('testapp.tasks.echo', [{}], { site: SITE });
    const [job] = (await broker.claim(['default'], 1, LEASE)).jobs;
    assert.equal(job?.id, id);
    assert.ok(job);
    assert.equal(await broker.release(job, 'unstarted', 3, 'no free slot', 100), 1);
    const back = await readJob(redis.client, bench.benchId, 'default', job.id);
    assert.equal(back?.status, 'queued');
    assert.equal(back?.attempts, 0);
    assert.equal(back?.stalls, 0);
    const [again] = (await broker.claim(['default'], 1, LEASE)).jobs;
    assert.equal(again?.fields['attempts'], '1', 'its first real run is attempt 1');
    assert.ok(again);
    assert.equal(await broker.finish(again, 'finished', 'null', 600, 0), 1);
  });

  it('keeps only the newest rq_failed_jobs_limit failures, dropping the oldest', async () => {
    const ids = await client.enqueueMany('testapp.tasks.echo', [{}, {}, {}], { site: SITE });
    for (const job of (await broker.claim(['default'], 3, LEASE)).jobs) {
      assert.equal(await broker.finish(job, 'failed', '{"message":"x"}', 600, 2), 1);
      await new Promise((r) => setTimeout(r, 3)); // distinct failure times (ms) so "oldest" is defined
    }
    assert.deepEqual(await redis.client.zrange(keys().failed, '0', '-1'), ids.slice(1));
    assert.equal(await redis.client.exists(keys().job(ids[0] as string)), 0);
  });
});

describe('reaper', () => {
  it('returns jobs with expired leases to the front of the queue and counts the stall', async () => {
    const [stuck, waiting] = await client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE });
    (await broker.claim(['default'], 1, 1)).jobs; // a 1 ms lease: expired at once
    await redis.client.del(keys().marker);
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(await broker.reap('default', 1000, 3, 100), { requeued: 1, abandoned: 0 });
    assert.deepEqual(await redis.client.lrange(keys().wait, 0, -1), [stuck, waiting]);
    assert.equal((await readJob(redis.client, bench.benchId, 'default', stuck as string))?.stalls, 1);
    assert.equal(await redis.client.zcard(keys().marker), 1, 'a blocked worker is woken');
  });

  it('runs one at a time: a second reaper within the lock period does nothing', async () => {
    assert.notEqual(await broker.reap('default', 10_000, 3, 100), null);
    assert.equal(await broker.reap('default', 10_000, 3, 100), null);
  });

  it('fails a job as abandoned after too many stalls', async () => {
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE });
    await redis.client.hset(keys().job(id), 'stalls', '3');
    (await broker.claim(['default'], 1, 1)).jobs;
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(await broker.reap('default', 1, 3, 100), { requeued: 0, abandoned: 1 });
    const job = await readJob(redis.client, bench.benchId, 'default', id);
    assert.equal(job?.status, 'failed');
    assert.equal(job?.error?.name, 'AbandonedJobError');
    assert.ok(await redis.client.zscore(keys().failed, id));
  });

  it('leaves live leases alone', async () => {
    await client.enqueue('testapp.tasks.echo', { site: SITE });
    (await broker.claim(['default'], 1, LEASE)).jobs;
    assert.deepEqual(await broker.reap('default', 1, 3, 100), { requeued: 0, abandoned: 0 });
    assert.equal(await redis.client.zcard(keys().active), 1);
  });
});
