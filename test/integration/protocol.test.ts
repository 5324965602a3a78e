// The Redis protocol at script level, against a real redis-server: atomic enqueue; the worker process's
// fetch (end jobs and claim more in one call) with its liveness stamp; fencing of every exit from
// in-flight; replay safety; the reaper and a supervisor's post-mortem of a dead worker process.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { DEFAULTS } from '../../src/config/schema.ts';
import { BenchClient } from '../../src/client.ts';
import { ScriptCode } from '../../src/redis/codes.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { defineScripts, runScript } from '../../src/redis/scripts.ts';
import { Fetcher, type ClaimedJob, type Ending } from '../../src/worker/fetcher.ts';
import { Ownership } from '../../src/worker/ownership.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { readJob } from '../helpers/jobs.ts';
import { queuedCount, queuedIds } from '../helpers/queued.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
let bench: TestBench;
let client: BenchClient;
let scripted: Redis;
let fetcher: Fetcher;
let ownership: Ownership;
const SITE = 'site1.test';
const OWNER = 'host.1.aaaaaa';
const STAMP = 30_000;
let calls = 0;

before(async () => {
  redis = await startRedis();
  bench = makeBench({ redisUrl: redis.url });
  client = await BenchClient.open({ benchPath: bench.path });
  scripted = new Redis(redis.port, '127.0.0.1');
  defineScripts(scripted);
  fetcher = new Fetcher(scripted, bench.benchId, OWNER, STAMP, 100);
  ownership = new Ownership(scripted, bench.benchId, 'test-supervisor', 100);
});

after(async () => {
  scripted.disconnect();
  await client.close();
  await redis.stop();
  bench.remove();
});

beforeEach(async () => {
  await redis.client.flushdb(); // this Redis is private to this test file
  for (const queue of ['short', 'default', 'long']) await ownership.register(queue, [OWNER], STAMP);
});

const keys = () => queueKeys(bench.benchId, 'default');
const queued = () => queuedIds(redis.client, bench.benchId, 'default');
const count = () => queuedCount(redis.client, bench.benchId, 'default');
const enqueue = (kwargs: Record<string, unknown> = {}, queue = 'default') => client.enqueue('testapp.tasks.echo', { site: SITE, queue, kwargs });

async function claim(n: number, queues: readonly string[] = ['default'], by = fetcher): Promise<ClaimedJob[]> {
  return (await by.fetch(queues, [], n, `t.${++calls}`)).claimed;
}

async function end(job: ClaimedJob, ending: Ending, requestId = `t.${++calls}`): Promise<number> {
  const reply = await fetcher.fetch([job.record.queue], [{ queue: job.record.queue, id: job.record.id, token: job.token, ending, ttl: 600 }], 0, requestId);
  return reply.endCodes[0] as number;
}

const FINISHED: Ending = { kind: 'finished', result: '"r"' };

describe('enqueue', () => {
  it('writes the job hash, the pending push and the wake-up marker together', async () => {
    const id = await enqueue({ a: 1 });
    assert.deepEqual(await queued(), [id]);
    assert.equal(await redis.client.zcard(keys().marker), 1);
    const job = await readJob(redis.client, bench.benchId, 'default', id);
    assert.equal(job?.status, 'queued');
    assert.deepEqual(job?.kwargs, { a: 1 });
  });

  it('a replay of the same request (same nonce) is a no-op; another request for a live id is refused', async () => {
    const k = keys();
    const call = (nonce: string) =>
      runScript(scripted, 'enqueue', [k.wait, k.marker, k.finished, k.failed, k.delayed, k.wait], ['0', '0', '1', '0', '0', '', '', '', '60', k.prefix, '0', '1', 'method', 'testapp.tasks.echo', 's||x', '{}', nonce]);
    assert.deepEqual(await call('n1'), [ScriptCode.ALL_OK, 1]);
    assert.deepEqual(await call('n1'), [ScriptCode.REPLAYED]);
    assert.deepEqual(await call('n2'), [ScriptCode.JOB_EXISTS]);
    assert.equal(await count(), 1);
  });

  it('a tracked bulk call writes only after the calls before it, moves the progress with its write, and a replay writes nothing', async () => {
    const k = keys();
    const progress = k.bulk('00112233aabbccdd');
    const call = (from: number, ids: string[], digest = 'd1') =>
      runScript(
        scripted,
        'enqueue',
        [k.wait, k.marker, k.finished, k.failed, k.delayed, progress],
        ['0', '0', String(ids.length), '0', '0', String(from), String(from + ids.length), digest, '60', k.prefix, '0', '1', 'method', 'testapp.tasks.echo', ...ids.flatMap((id) => [id, '{}', ''])],
      );
    // The second call before the first: refused, nothing written.
    assert.deepEqual(await call(2, ['s||c', 's||d']), [ScriptCode.OUT_OF_ORDER, 0]);
    assert.equal(await redis.client.exists(k.job('s||c')), 0);
    assert.deepEqual(await call(0, ['s||a', 's||b']), [ScriptCode.ALL_OK, 2]);
    assert.equal(await redis.client.hget(progress, 'next'), '2');
    // The first call replayed (its reply was lost): nothing written again.
    assert.deepEqual(await call(0, ['s||a2', 's||b2']), [ScriptCode.REPLAYED, ScriptCode.REPLAYED]);
    assert.equal(await redis.client.exists(k.job('s||a2')), 0);
    // Another request under this progress hash: refused.
    assert.deepEqual(await call(2, ['s||c', 's||d'], 'other'), [ScriptCode.RESUME_MISMATCH, 2]);
    assert.deepEqual(await call(2, ['s||c', 's||d']), [ScriptCode.ALL_OK, 2]);
    assert.deepEqual(await queued(), ['s||a', 's||b', 's||c', 's||d']);
    assert.equal(await redis.client.hget(progress, 'next'), '4');
    const ttl = await redis.client.ttl(progress);
    assert.ok(ttl > 0 && ttl <= 60, `progress ttl ${ttl}`);
  });

  it('replaces a finished job that reuses its id', async () => {
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'reuse' });
    const [claimed] = await claim(1);
    assert.ok(claimed);
    assert.equal(await end(claimed, FINISHED), ScriptCode.OK);
    assert.equal(await client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'reuse' }), id);
    assert.equal((await readJob(redis.client, bench.benchId, 'default', id))?.status, 'queued');
    assert.equal(await redis.client.zscore(keys().finished, id), null);
  });
});

describe('claim', () => {
  it('moves ids into the active set with a token, the owner and its start, in priority order', async () => {
    const long = await enqueue({}, 'long');
    const def = await enqueue({ n: 1 });
    const short = await enqueue({}, 'short');
    const claimed = await claim(5, ['short', 'default', 'long']);
    assert.deepEqual(claimed.map((c) => c.record.id), [short, def, long]);
    const job = claimed[1] as ClaimedJob;
    assert.equal(job.record.queue, 'default');
    assert.equal(job.record.attempts, 1, 'the claim counts an attempt');
    assert.deepEqual(job.record.kwargs, { n: 1 });
    assert.equal(job.record.method, 'testapp.tasks.echo');
    const stored = await readJob(redis.client, bench.benchId, 'default', def);
    assert.equal(stored?.status, 'started');
    assert.equal(stored?.worker, OWNER);
    assert.equal(await redis.client.hget(keys().job(def), 'token'), job.token);
    const startedAt = Number(await redis.client.zscore(keys().active, def));
    assert.equal(startedAt, stored?.startedAt, 'the active set is scored by the start (Redis clock)');
  });

  it('claims no more than asked and keeps the marker while work remains', async () => {
    for (let i = 0; i < 3; i++) await enqueue();
    await redis.client.del(keys().marker);
    assert.equal((await claim(2)).length, 2);
    assert.equal(await redis.client.zcard(keys().marker), 1, 'one job remains: the marker stays');
    await redis.client.del(keys().marker);
    assert.equal((await claim(2)).length, 1);
    assert.equal(await redis.client.zcard(keys().marker), 0);
  });

  it('a replayed call returns the jobs of the first instead of claiming more', async () => {
    for (let i = 0; i < 3; i++) await enqueue();
    const first = await fetcher.fetch(['default'], [], 2, 'same-request');
    const replay = await fetcher.fetch(['default'], [], 2, 'same-request');
    assert.deepEqual(replay.claimed.map((c) => [c.record.id, c.token]), first.claimed.map((c) => [c.record.id, c.token]));
    assert.equal(replay.claimed[0]?.record.attempts, 1);
    assert.equal(await count(), 1);
  });

  it('drops an id whose job hash was deleted', async () => {
    const id = await enqueue();
    await redis.client.del(keys().job(id));
    assert.deepEqual(await claim(1), []);
    assert.deepEqual(await queued(), []);
    assert.equal(await count(), 0, 'the queue length counts the dropped id out');
  });

  it('claims nothing for a process without a live stamp: unregistered, or lapsed', async () => {
    const id = await enqueue();
    const stranger = new Fetcher(scripted, bench.benchId, 'host.2.bbbbbb', STAMP, 100);
    const reply = await stranger.fetch(['default'], [], 1, 'x.1');
    assert.equal(reply.ownerAlive, false);
    assert.deepEqual(reply.claimed, []);
    await ownership.register('default', ['host.2.bbbbbb'], 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal((await stranger.fetch(['default'], [], 1, 'x.2')).ownerAlive, false);
    assert.deepEqual(await queued(), [id], 'the job is still waiting');
  });

  it('promotes scheduled jobs that are due, and says when the next one is', async () => {
    const due = await client.enqueue('testapp.tasks.echo', { site: SITE, inSeconds: 0.05 });
    await client.enqueue('testapp.tasks.echo', { site: SITE, inSeconds: 60 });
    const early = await fetcher.fetch(['default'], [], 5, 'd.1');
    assert.deepEqual(early.claimed, []);
    assert.ok(early.nextScheduledMs > 0 && early.nextScheduledMs <= 50, `next due in ${early.nextScheduledMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const later = await fetcher.fetch(['default'], [], 5, 'd.2');
    assert.deepEqual(later.claimed.map((c) => c.record.id), [due]);
    assert.ok(later.nextScheduledMs > 50_000);
  });
});

describe('ending jobs (fenced)', () => {
  it('only the current token may end a job; a replayed end is a no-op; a gone job is reported', async () => {
    await enqueue();
    const [job] = await claim(1);
    assert.ok(job);
    assert.equal(await end({ ...job, token: 'stale' }, FINISHED), ScriptCode.LEASE_LOST);
    assert.equal((await readJob(redis.client, bench.benchId, 'default', job.record.id))?.status, 'started');
    assert.equal(await end(job, FINISHED, 'e.1'), ScriptCode.OK);
    assert.equal(await end(job, FINISHED, 'e.1'), ScriptCode.REPLAYED);
    const gone = { ...job, record: { ...job.record, id: 'site1.test||nope' } };
    assert.equal(await end(gone, FINISHED), ScriptCode.NO_JOB);
    const stored = await readJob(redis.client, bench.benchId, 'default', job.record.id);
    assert.equal(stored?.status, 'finished');
    assert.equal(stored?.result, 'r');
    assert.equal(await redis.client.zscore(keys().active, job.record.id), null);
    assert.ok(await redis.client.zscore(keys().finished, job.record.id));
  });

  it('ends several jobs in one call and claims in the same call: finished, failed, retried, stopped', async () => {
    for (let i = 0; i < 6; i++) await enqueue();
    const [a, b, c, d] = await claim(4);
    assert.ok(a && b && c && d);
    const error = JSON.stringify({ name: 'Error', message: 'x' });
    const reply = await fetcher.fetch(['default'], [
      { queue: 'default', id: a.record.id, token: a.token, ending: FINISHED, ttl: 600 },
      { queue: 'default', id: b.record.id, token: b.token, ending: { kind: 'failed', error, retryMs: 0, history: '' }, ttl: 3600 },
      { queue: 'default', id: c.record.id, token: c.token, ending: { kind: 'failed', error, retryMs: 60_000, history: `[${error}]` }, ttl: 3600 },
      { queue: 'default', id: d.record.id, token: d.token, ending: { kind: 'stopped', error }, ttl: 3600 },
    ], 2, 'batch.1');
    assert.deepEqual(reply.endCodes, [ScriptCode.OK, ScriptCode.OK, ScriptCode.RETRY_SCHEDULED, ScriptCode.OK]);
    assert.equal(reply.claimed.length, 2);
    const statuses = await Promise.all([a, b, c, d].map(async (j) => (await readJob(redis.client, bench.benchId, 'default', j.record.id))?.status));
    assert.deepEqual(statuses, ['finished', 'failed', 'scheduled', 'stopped']);
    assert.equal(await redis.client.zcard(keys().active), 2, 'only the two new claims run');
    assert.ok(await redis.client.zscore(keys().delayed, c.record.id));
    const retried = await readJob(redis.client, bench.benchId, 'default', c.record.id);
    assert.equal(retried?.retries, 1);
    assert.equal(retried?.errors.length, 1);
  });

  it('release hands a job back to the front of its queue, fenced by the token', async () => {
    const first = await enqueue();
    const second = await enqueue();
    const [job] = await claim(1);
    assert.ok(job && job.record.id === first);
    assert.deepEqual(await fetcher.release('default', [{ id: first, token: 'stale' }], 'blameless', 3, 'test'), [ScriptCode.LEASE_LOST]);
    assert.deepEqual(await fetcher.release('default', [{ id: first, token: job.token }], 'blameless', 3, 'test'), [ScriptCode.OK]);
    assert.deepEqual(await queued(), [first, second]);
    const back = await readJob(redis.client, bench.benchId, 'default', first);
    assert.equal(back?.status, 'queued');
    assert.equal(back?.stalls, 0);
  });

  it('release of a job that never started takes back the attempt its claim counted', async () => {
    const id = await enqueue();
    const [job] = await claim(1);
    assert.ok(job);
    assert.deepEqual(await fetcher.release('default', [{ id, token: job.token }], 'unstarted', 3, 'no free slot'), [ScriptCode.OK]);
    const back = await readJob(redis.client, bench.benchId, 'default', id);
    assert.equal(back?.attempts, 0);
    assert.equal(back?.startedAt, undefined);
    const [again] = await claim(1);
    assert.equal(again?.record.attempts, 1);
  });

  it('keeps only the newest rq_failed_jobs_limit failures, dropping the oldest', async () => {
    const small = new Fetcher(scripted, bench.benchId, OWNER, STAMP, 2);
    for (let i = 0; i < 3; i++) await enqueue({ i });
    const jobs = await claim(3);
    for (const job of jobs) {
      await new Promise((resolve) => setTimeout(resolve, 3)); // failures are ordered by their time (ms)
      const reply = await small.fetch(['default'], [{ queue: 'default', id: job.record.id, token: job.token, ending: { kind: 'failed', error: '{"message":"x"}', retryMs: 0, history: '' }, ttl: 3600 }], 0, `f.${job.token}`);
      assert.equal(reply.endCodes[0], ScriptCode.OK);
    }
    const kept = await redis.client.zrange(keys().failed, '0', '-1');
    assert.deepEqual(kept, jobs.slice(1).map((j) => j.record.id));
    assert.equal(await redis.client.exists(keys().job(jobs[0]?.record.id as string)), 0, 'the oldest failure is gone');
  });
});

describe('liveness stamps and the reaper', () => {
  it('renewing keeps a live stamp; a lapsed one is reported lost and is not brought back', async () => {
    assert.deepEqual(await ownership.renew('default', [OWNER], STAMP), []);
    await ownership.register('default', ['host.3.cccccc'], 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(await ownership.renew('default', [OWNER, 'host.3.cccccc'], STAMP), ['host.3.cccccc']);
    assert.deepEqual(await ownership.renew('default', ['host.3.cccccc'], STAMP), ['host.3.cccccc'], 'still lost');
  });

  it('hands back the jobs of a process whose stamp lapsed, counting a stall; leaves live ones alone', async () => {
    const mine = await enqueue();
    const theirs = await enqueue();
    await claim(1);
    const dying = new Fetcher(scripted, bench.benchId, 'host.4.dddddd', STAMP, 100);
    await ownership.register('default', ['host.4.dddddd'], 20);
    assert.equal((await claim(1, ['default'], dying))[0]?.record.id, theirs);
    assert.deepEqual(await ownership.reap('default', 1000, 3), { requeued: 0, abandoned: 0 }, 'both stamps are alive');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await redis.client.del(keys().reaperLock);
    assert.deepEqual(await ownership.reap('default', 1000, 3), { requeued: 1, abandoned: 0 });
    assert.deepEqual(await queued(), [theirs]);
    const back = await readJob(redis.client, bench.benchId, 'default', theirs);
    assert.equal(back?.stalls, 1);
    assert.equal(back?.status, 'queued');
    assert.equal((await readJob(redis.client, bench.benchId, 'default', mine))?.status, 'started');
    assert.equal(await redis.client.zscore(keys().owners, 'host.4.dddddd'), null, 'the lapsed stamp is dropped');
  });

  it('hands back a running job whose worker has no stamp at all', async () => {
    const id = await enqueue();
    await claim(1);
    await redis.client.zrem(keys().owners, OWNER);
    assert.deepEqual(await ownership.reap('default', 1000, 3), { requeued: 1, abandoned: 0 });
    assert.equal((await readJob(redis.client, bench.benchId, 'default', id))?.status, 'queued');
  });

  it('runs one at a time: a second reaper within the lock period does nothing', async () => {
    assert.notEqual(await ownership.reap('default', 10_000, 3), null);
    assert.equal(await ownership.reap('default', 10_000, 3), null);
  });

  it('fails a job as abandoned after too many stalls', async () => {
    const id = await enqueue();
    await redis.client.hset(keys().job(id), 'stalls', '3');
    await claim(1);
    await redis.client.zrem(keys().owners, OWNER);
    assert.deepEqual(await ownership.reap('default', 1, 3), { requeued: 0, abandoned: 1 });
    const job = await readJob(redis.client, bench.benchId, 'default', id);
    assert.equal(job?.status, 'failed');
    assert.equal(job?.error?.code, 'ERR_JOB_CRASHED');
    // No fttl in its hash (its site keeps the bench's rq_job_failure_ttl): the reaper's TTL applies.
    const ttl = await redis.client.ttl(keys().job(id));
    assert.ok(ttl > DEFAULTS.rq_job_failure_ttl - 60 && ttl <= DEFAULTS.rq_job_failure_ttl, `record kept for ${ttl} s`);
  });

  it("an abandoned job whose hash carries its site's own failure TTL keeps that one", async () => {
    const id = await enqueue();
    await redis.client.hset(keys().job(id), 'stalls', '3', 'fttl', '77');
    await claim(1);
    await redis.client.zrem(keys().owners, OWNER);
    assert.deepEqual(await ownership.reap('default', 1, 3), { requeued: 0, abandoned: 1 });
    const ttl = await redis.client.ttl(keys().job(id));
    assert.ok(ttl > 70 && ttl <= 77, `record kept for ${ttl} s`);
  });
});

describe('post-mortem of a worker process', () => {
  it('lists its jobs with their tokens, hands back only its own, and drops its stamp', async () => {
    for (let i = 0; i < 3; i++) await enqueue();
    const other = new Fetcher(scripted, bench.benchId, 'host.5.eeeeee', STAMP, 100);
    await ownership.register('default', ['host.5.eeeeee'], STAMP);
    const mine = await claim(2);
    const [theirs] = await claim(1, ['default'], other);
    assert.ok(theirs);
    const owned = await ownership.ownedJobs('default', OWNER);
    assert.deepEqual(owned.map((o) => o.token).sort(), mine.map((j) => j.token).sort());
    const crash = await ownership.releaseOwner('default', OWNER, true, 3, 'test crash');
    assert.deepEqual(crash, { requeued: 2, abandoned: [] });
    for (const job of mine) assert.equal((await readJob(redis.client, bench.benchId, 'default', job.record.id))?.stalls, 1);
    assert.equal((await readJob(redis.client, bench.benchId, 'default', theirs.record.id))?.status, 'started', 'another process\'s job stays');
    assert.equal(await redis.client.zscore(keys().owners, OWNER), null);
    const blameless = await ownership.releaseOwner('default', 'host.5.eeeeee', false, 3, 'killed on purpose');
    assert.deepEqual(blameless, { requeued: 1, abandoned: [] });
    assert.equal((await readJob(redis.client, bench.benchId, 'default', theirs.record.id))?.stalls, 0);
  });
});
