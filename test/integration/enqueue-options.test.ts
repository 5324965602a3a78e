// Enqueue options of Frappe and beyond, against a real redis-server and worker: deduplication
// (atomic), at_front_when_starved, max_queued_jobs back-pressure, event, delayed jobs
// (enqueueIn / enqueueAt) and retry policies.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { runBench } from '../helpers/cli.ts';
import { readJob, startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { queuedCount, queuedIds } from '../helpers/queued.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

let redis: TestRedis;
let bench: TestBench;
let client: BenchClient;
const SITE = 'site1.test';
const keys = (queue = 'default') => queueKeys(bench.benchId, queue);
const queued = (queue = 'default') => queuedIds(redis.client, bench.benchId, queue);
const count = (queue = 'default') => queuedCount(redis.client, bench.benchId, queue);

before(async () => {
  redis = await startRedis();
  bench = makeBench({ redisUrl: redis.url, common: { max_queued_jobs: 3 } });
  client = await BenchClient.open({ benchPath: bench.path });
});

after(async () => {
  await client.close();
  await redis.stop();
  bench.remove();
});

beforeEach(async () => {
  await redis.client.flushdb(); // private to this file
});

function tempFile(name: string): string {
  return path.join(os.tmpdir(), `bw-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
}

describe('deduplicate', () => {
  it('ten racing enqueues of one id make one job; the others resolve to undefined', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'sync-customers', deduplicate: true })),
    );
    assert.deepEqual(results.filter((r) => r !== undefined), ['site1.test||sync-customers']);
    assert.deepEqual(await queued(), ['site1.test||sync-customers']);
    assert.equal(await client.isJobEnqueued(SITE, 'sync-customers'), true);
    assert.equal(await client.getJobStatus(SITE, 'sync-customers'), 'queued');
  });

  it('replaces a finished job with the same id', async () => {
    await client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'daily', kwargs: { run: 1 } });
    await startSupervisor(bench, { burst: true }).done;
    assert.equal(await client.isJobEnqueued(SITE, 'daily'), false);
    assert.equal(await client.getJobStatus(SITE, 'daily'), 'finished');
    const again = await client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'daily', deduplicate: true, kwargs: { run: 2 } });
    assert.equal(again, 'site1.test||daily');
    assert.deepEqual((await client.getJob(SITE, 'daily'))?.kwargs, { run: 2 });
  });

  it('needs a jobId; without deduplicate a live duplicate is an error', async () => {
    await assert.rejects(client.enqueue('testapp.tasks.echo', { site: SITE, deduplicate: true }), { code: 'ERR_ENQUEUE_INVALID', message: /jobId/ });
    await client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'x' });
    await assert.rejects(client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'x' }), { code: 'ERR_JOB_EXISTS' });
  });

  it('CLI: --deduplicate prints nothing and exits 0 when skipped', async () => {
    const args = ['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--job-id', 'cli-dedup', '--deduplicate'];
    const first = await runBench(args, { cwd: bench.path });
    const second = await runBench(args, { cwd: bench.path });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), 'site1.test||cli-dedup');
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout.trim(), '');
    assert.match(second.stderr, /already queued or running/);
    const noId = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--deduplicate'], { cwd: bench.path });
    assert.equal(noId.code, 2);
  });
});

describe('queue position and back-pressure', () => {
  it('at_front_when_starved goes to the back of a short queue and to the front past 16 jobs', async () => {
    const many = await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 16 }, () => ({})), { site: SITE, queue: 'long' });
    const calm = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long', atFrontWhenStarved: true });
    assert.equal((await queued('long')).at(-1), calm, '16 waiting: not starved');
    const starved = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long', atFrontWhenStarved: true });
    assert.equal((await queued('long'))[0], starved, '17 waiting: starved, goes first');
    assert.equal(many.length, 16);
  });

  it('max_queued_jobs is checked against the whole bulk request: one that does not fit writes nothing', async () => {
    // Limit 53 (3 + 50 for the one site): 40 fit, then 20 more do not, though the queue is not full yet.
    await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 40 }, () => ({})), { site: SITE, queue: 'long' });
    await assert.rejects(client.enqueueMany('testapp.tasks.echo', Array.from({ length: 20 }, () => ({})), { site: SITE, queue: 'long' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_QUEUE_OVERLOADED');
      assert.match(err.message, /40 jobs waiting, limit 53 .*20 more jobs do not fit/);
      return true;
    });
    assert.equal(await count('long'), 40, 'nothing of the refused request was written');
    await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 13 }, () => ({})), { site: SITE, queue: 'long' });
    assert.equal(await count('long'), 53, 'a request that fits exactly is accepted');
  });

  it('bulk enqueue bounds each script call by bytes as well as by count', async () => {
    const calls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.client.info('commandstats'))?.[1] ?? 0);
    const before = await calls();
    // Five entries of 600 KB: a 1 MiB bound puts each in its own call (one call would carry 3 MB).
    const big = 'x'.repeat(600 * 1024);
    const ids = await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 5 }, (_, i) => ({ i, big })), { site: SITE, queue: 'short' });
    assert.equal(await calls() - before, 5, 'one script call per 600 KB entry');
    assert.deepEqual(await queued('short'), ids, 'in order');
  });

  it('max_queued_jobs (+50 per site) refuses with QueueOverloaded, saying how full and the limit', async () => {
    await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 53 }, () => ({})), { site: SITE });
    await assert.rejects(client.enqueue('testapp.tasks.echo', { site: SITE }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_QUEUE_OVERLOADED');
      assert.match(err.message, /queue "default" is overloaded: 53 jobs waiting, limit 53/);
      return true;
    });
    await assert.rejects(client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE }), { code: 'ERR_QUEUE_OVERLOADED' });
    assert.equal(await count(), 53, 'nothing more was written');
    const cli = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo'], { cwd: bench.path });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /ERR_QUEUE_OVERLOADED/);
    await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'short' });
  });

  it('max_queued_jobs adds 50 per site: with three sites the limit is max_queued_jobs + 150', async () => {
    const sites = ['one.test', 'two.test', 'three.test'];
    const three = makeBench({ redisUrl: redis.url, common: { max_queued_jobs: 3 }, sites: Object.fromEntries(sites.map((site) => [site, {}])) });
    const threeClient = await BenchClient.open({ benchPath: three.path });
    const waiting = () => queuedCount(redis.client, three.benchId, 'default');
    try {
      // 152 from the three sites: past the one-site limit (53) and the two-site one (103), one short of 153.
      for (const site of sites) await threeClient.enqueueMany('testapp.tasks.echo', Array.from({ length: 50 }, () => ({})), { site });
      await threeClient.enqueueMany('testapp.tasks.echo', [{}, {}], { site: 'two.test' });
      await assert.rejects(threeClient.enqueueMany('testapp.tasks.echo', [{}, {}], { site: 'one.test' }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_QUEUE_OVERLOADED');
        assert.match(err.message, /152 jobs waiting, limit 153 /);
        return true;
      });
      await threeClient.enqueue('testapp.tasks.echo', { site: 'three.test' });
      assert.equal(await waiting(), 153, 'a job that fits exactly is accepted');
      await assert.rejects(threeClient.enqueue('testapp.tasks.echo', { site: 'one.test' }), /153 jobs waiting, limit 153 \(max_queued_jobs \+ 50 per site\)/);
      const cli = await runBench(['--site', 'two.test', 'enqueue', 'testapp.tasks.echo'], { cwd: three.path });
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(cli.stderr, /ERR_QUEUE_OVERLOADED.*limit 153 /);
      assert.equal(await waiting(), 153, 'nothing more was written');
    } finally {
      await threeClient.close();
      three.remove();
    }
  });

  it('stores the event with the job (CLI --event too)', async () => {
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE, event: 'nightly' });
    assert.equal((await client.getJob(SITE, id))?.event, 'nightly');
    const cli = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--event', 'import'], { cwd: bench.path });
    assert.equal((await client.getJob(SITE, cli.stdout.trim()))?.event, 'import');
  });
});

describe('delayed jobs', () => {
  it('enqueueIn keeps the job scheduled until due, then an idle worker runs it on time', { timeout: 30_000 }, async () => {
    // A long blocking wait: a worker that did not shorten it to the due time would start the job
    // many seconds late, far outside the bound below (which leaves room for a loaded machine).
    const w = startSupervisor(bench, { queues: ['default'], blockSeconds: 15 });
    try {
      await w.ready();
      const id = await client.enqueueIn(1.5, 'testapp.tasks.echo', { site: SITE });
      const scheduled = await readJob(redis.client, bench.benchId, 'default', id);
      assert.equal(scheduled?.status, 'scheduled');
      assert.ok(await redis.client.zscore(keys().delayed, id));
      assert.equal(await count(), 0);
      const done = await waitForStatus(redis.client, bench, 'default', id, 'finished');
      const runAt = scheduled?.runAt as number;
      assert.ok((done.startedAt as number) >= runAt, 'not before it is due');
      assert.ok((done.startedAt as number) - runAt < 1500, `started ${(done.startedAt as number) - runAt} ms after due: the idle worker shortened its wait`);
    } finally {
      await w.stop();
    }
  });

  it('enqueueAt a past time runs at once; CLI --in / --at schedule, a bad --at is a usage error', async () => {
    const past = await client.enqueueAt(new Date(Date.now() - 60_000), 'testapp.tasks.echo', { site: SITE });
    assert.deepEqual(await queued(), [past]);
    const later = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--in', '3600'], { cwd: bench.path });
    assert.equal((await client.getJob(SITE, later.stdout.trim()))?.status, 'scheduled');
    const at = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--at', '2099-01-01T00:00:00Z'], { cwd: bench.path });
    const job = await client.getJob(SITE, at.stdout.trim());
    assert.ok(job?.runAt && Math.abs(job.runAt - Date.parse('2099-01-01T00:00:00Z')) < 5000);
    const bad = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--at', 'tomorrow'], { cwd: bench.path });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--at must be an ISO 8601 time/);
  });
});

describe('retries', () => {
  it('a failing job is retried through the delayed set, then fails keeping every attempt\'s error', { timeout: 30_000 }, async () => {
    const id = await client.enqueue('testapp.tasks.fail', { site: SITE, kwargs: { message: 'nope' }, retry: { max: 2, intervals: [0.1] } });
    const w = startSupervisor(bench, { queues: ['default'] });
    try {
      const job = await waitForStatus(redis.client, bench, 'default', id, 'failed');
      assert.equal(job.attempts, 3);
      assert.equal(job.errors.length, 3);
      assert.deepEqual(job.errors.map((e) => e.message), ['nope', 'nope', 'nope']);
      assert.ok(await redis.client.zscore(keys().failed, id));
      assert.equal(await redis.client.zscore(keys().delayed, id), null);
    } finally {
      await w.stop();
    }
  });

  it('a job that fails twice then succeeds finishes on its third run (CLI --retry)', { timeout: 40_000 }, async () => {
    const file = tempFile('flaky');
    const cli = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.flaky', '--retry', '3', '--kwargs', JSON.stringify({ file, succeedOn: 3 })], { cwd: bench.path });
    assert.equal(cli.code, 0, cli.stderr);
    const id = cli.stdout.trim();
    const w = startSupervisor(bench, { queues: ['default'] });
    try {
      const job = await waitForStatus(redis.client, bench, 'default', id, 'finished', 30_000);
      assert.equal(job.result, 3);
      assert.equal(job.attempts, 3);
      assert.equal(job.errors.length, 2);
    } finally {
      await w.stop();
    }
  });

  it('refuses a malformed retry policy', async () => {
    await assert.rejects(client.enqueue('testapp.tasks.echo', { site: SITE, retry: { max: -1 } }), { code: 'ERR_ENQUEUE_INVALID', message: /retry: max/ });
    await assert.rejects(client.enqueue('testapp.tasks.echo', { site: SITE, retry: { max: 2, intervals: [] } }), { code: 'ERR_ENQUEUE_INVALID' });
  });
});

describe('callbacks are stored as dotted paths', () => {
  it('accepts a dotted path or an exported function, and refuses an unknown one', async () => {
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE, onSuccess: 'testapp.tasks.echo', onFailure: 'testapp.tasks.add' });
    const job = await client.getJob(SITE, id);
    assert.equal(job?.onSuccess, 'testapp.tasks.echo');
    assert.equal(job?.onFailure, 'testapp.tasks.add');
    await assert.rejects(client.enqueue('testapp.tasks.echo', { site: SITE, onSuccess: 'testapp.nope.cb' }), { code: 'ERR_JOB_LOAD' });
  });
});

describe('now / isAsync: false', () => {
  it('runs the job inline, writes nothing to Redis, and returns its result or throws its error', async () => {
    const before = await redis.client.dbsize();
    assert.equal(await client.enqueue('testapp.tasks.add', { site: SITE, now: true, kwargs: { a: 20, b: 22 } }), 42);
    const ctx = (await client.enqueue('testapp.tasks.context', { site: SITE, isAsync: false, user: 'bob' })) as { pid: number; user: string; custom: unknown };
    assert.equal(ctx.pid, process.pid, 'ran in the caller');
    assert.equal(ctx.user, 'bob');
    await assert.rejects(client.enqueue('testapp.tasks.fail', { site: SITE, now: true, kwargs: { message: 'inline boom' } }), /inline boom/);
    assert.equal(await redis.client.dbsize(), before, 'nothing was written to Redis');
  });
});
