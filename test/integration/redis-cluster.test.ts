// Redis Cluster (issue 14): the queues on a real 3-master, 3-replica Cluster through redis_queue_cluster,
// spread over the shards (one hash tag per queue). With no change to app code: enqueue one and in bulk,
// a worker on three queues of different shards (priority order kept, woken by an enqueue on any of them
// with no polling), delayed jobs and retries, dedup, listings and counts across the shards, job events,
// and a SIGKILL of the master of a busy queue in the middle of a drain, after which every accepted job
// still ends finished, recorded once, with nothing left in flight or queued.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { loadBenchConfig } from '../../src/config/load.ts';
import type { BenchError } from '../../src/errors.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { SchedulerLease } from '../../src/scheduler/lease.ts';
import { Fetcher } from '../../src/worker/fetcher.ts';
import { Ownership } from '../../src/worker/ownership.ts';
import { benchKeys, queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { spreadBenchId, startCluster, type TestCluster } from '../helpers/cluster.ts';
import { capturingSupervisor, startSupervisor } from '../helpers/jobs.ts';
import { queuedCount } from '../helpers/queued.ts';
import { runBench, shown } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';

let cluster: TestCluster;
const benches: TestBench[] = [];
const files: string[] = [];

before(async () => {
  const startedAt = Date.now();
  cluster = await startCluster();
  console.log(`cluster: 3 masters + 3 replicas up in ${Date.now() - startedAt} ms`);
});
after(async () => {
  benches.forEach((b) => b.remove());
  files.forEach((f) => rmSync(f, { force: true }));
  await cluster?.stop();
});

function clusterBench(common: Record<string, unknown> = {}): TestBench {
  // redis_queue points nowhere: with redis_queue_cluster set, the seeds are the cluster's nodes.
  const bench = makeBench({ redisUrl: 'redis://127.0.0.1:1', common: { redis_queue_cluster: cluster.urls, ...common } });
  if (typeof common['bench_id'] === 'string') bench.benchId = common['bench_id'];
  benches.push(bench);
  return bench;
}

function tempFile(name: string): string {
  const file = path.join(os.tmpdir(), `bw-cluster-${name}-${process.pid}-${Date.now()}`);
  files.push(file);
  return file;
}

async function workersUp(bench: TestBench, count: number): Promise<void> {
  await waitFor(async () => (await cluster.client.zcard(benchKeys(bench.benchId).workers)) >= count, { what: `${count} worker process(es) up` });
}

const status = async (bench: TestBench, queue: string, id: string) => cluster.client.hget(queueKeys(bench.benchId, queue).job(id), 'status');

describe('Redis Cluster', () => {
  it('refuses a Cluster together with Sentinel, and a Cluster URL of another database, naming the key', async () => {
    const both = clusterBench({ redis_queue_sentinel_enabled: 1, redis_queue_sentinels: ['127.0.0.1:26379'], redis_queue_master_service: 'q' });
    await assert.rejects(createRedis(loadBenchConfig(both.path).settings, { role: 'producer' }), (err: BenchError) => {
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      assert.match(err.message, /redis_queue_cluster and redis_queue_sentinel_enabled/);
      return true;
    });
    const other = clusterBench({ redis_queue_cluster: [`${cluster.urls[0]}/2`] });
    assert.throws(() => loadBenchConfig(other.path), (err: BenchError) => {
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      assert.match(err.message, /redis_queue_cluster\[0\].*database 0/);
      return true;
    });
  });

  it('spreads the queues over the shards, and a worker on three of them keeps their priority and wakes on any', { timeout: 90_000 }, async () => {
    // Each queue has its own slot; which shard holds it depends on the bench id: take one that puts
    // short, default and long on three different masters, so the worker must wait on three shards.
    const benchId = await spreadBenchId(cluster, 'order', ['short', 'default', 'long']);
    const bench = clusterBench({ bench_id: benchId });

    const client = await BenchClient.open({ benchPath: bench.path });
    const file = tempFile('order');
    try {
      // Queued before any worker runs: one worker with one slot must take short, then default, then long.
      for (const queue of ['long', 'default', 'short']) {
        await client.enqueueMany('testapp.tasks.record', [1, 2].map((n) => ({ file, value: `${queue}${n}` })), { site: 'site1.test', queue });
      }
      const worker = startSupervisor(bench, { queues: ['short', 'default', 'long'], numWorkers: 1, concurrency: 1, blockSeconds: 30 });
      try {
        await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').trim().split('\n').length === 6, { what: 'the six jobs to run' });
        assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n'), ['short1', 'short2', 'default1', 'default2', 'long1', 'long2']);
        await workersUp(bench, 1);
        // Idle now, blocked on three shards for up to 30 s: an enqueue on each queue must wake it at once.
        for (const queue of ['long', 'short', 'default']) {
          const enqueuedAt = Date.now();
          const id = (await client.enqueue('testapp.tasks.echo', { site: 'site1.test', queue, kwargs: { queue } })) as string;
          await waitFor(async () => (await status(bench, queue, id)) === 'finished', { what: `the job on ${queue} to finish`, timeoutMs: 20_000, intervalMs: 5 });
          const tookMs = Date.now() - enqueuedAt;
          console.log(`cluster: an idle worker ran a job enqueued on ${queue} ${tookMs} ms after the enqueue`);
          assert.ok(tookMs < 20_000, 'woken by the enqueue, not by its 30 s wait running out');
        }
      } finally {
        await worker.stop();
      }
    } finally {
      await client.close();
    }
  });

  it('a claim over queues of different shards numbers its tokens on across them, and replays as one call', async () => {
    const bench = clusterBench({ bench_id: await spreadBenchId(cluster, 'tokens', ['short', 'default']) });
    const config = loadBenchConfig(bench.path);
    const redis = await createRedis(config.settings, { role: 'worker' });
    const client = await BenchClient.open({ benchPath: bench.path });
    try {
      const owner = 'vm.1.aaaaaa';
      const ownership = new Ownership(redis, bench.benchId, 'vm.0.supervisor', 100);
      for (const queue of ['short', 'default']) {
        await ownership.register(queue, [owner], 60_000);
        await client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: 'site1.test', queue });
      }
      const fetcher = new Fetcher(redis, bench.benchId, owner, 60_000, 100);
      const first = await fetcher.fetch(['short', 'default'], [], 3, 'tag.7');
      const claims = first.claimed.map((c) => [c.record.queue, c.token]);
      // The token is the request id and the job's place in the whole claim: what the watchdog rebuilds.
      assert.deepEqual(claims, [['short', 'tag.7:1'], ['short', 'tag.7:2'], ['default', 'tag.7:3']]);
      const replay = await fetcher.fetch(['short', 'default'], [], 3, 'tag.7');
      assert.deepEqual(replay.claimed.map((c) => [c.record.queue, c.token]), claims, 'a replay returns what the first call claimed');
    } finally {
      redis.disconnect();
      await client.close();
    }
  });

  it('runs delayed jobs, retries, dedup, listings, counts, job events and the scheduler lease as on one server', { timeout: 90_000 }, async () => {
    const bench = clusterBench();
    const client = await BenchClient.open({ benchPath: bench.path });
    const worker = startSupervisor(bench, { queues: ['short', 'default', 'long'], numWorkers: 1, concurrency: 4 });
    try {
      const site = 'site1.test';
      const delayed = (await client.enqueue('testapp.tasks.echo', { site, queue: 'long', inSeconds: 1, kwargs: { n: 1 } })) as string;
      assert.equal(await client.getJobStatus(site, delayed), 'scheduled');
      const flakyFile = tempFile('flaky');
      const retried = (await client.enqueue('testapp.tasks.flaky', { site, queue: 'short', kwargs: { file: flakyFile, succeedOn: 2 }, retry: { max: 2, intervals: [0.2] } })) as string;
      const first = await client.enqueue('testapp.tasks.sleep', { site, jobId: 'nightly', deduplicate: true, kwargs: { ms: 1500 } });
      const again = await client.enqueue('testapp.tasks.sleep', { site, jobId: 'nightly', deduplicate: true, kwargs: { ms: 1500 } });
      assert.equal(typeof first, 'string');
      assert.equal(again, undefined, 'a queued or running job with that id makes the second enqueue a no-op');
      // Job events cross the shards: the waiter listens on the bench's channel, the job runs on another node.
      const result = await client.waitForJob(site, retried, { timeout: 20 });
      assert.equal(result, 2, 'the flaky job succeeded on its retry');
      await waitFor(async () => (await client.getJobStatus(site, delayed)) === 'finished', { what: 'the delayed job to run' });
      await waitFor(async () => (await client.getJobStatus(site, 'nightly')) === 'finished', { what: 'the deduplicated job to run' });
      const failing = (await client.enqueue('testapp.tasks.fail', { site, queue: 'long', kwargs: { message: 'on purpose' } })) as string;
      await waitFor(async () => (await client.getJobStatus(site, failing)) === 'failed', { what: 'the failing job to fail' });

      const finished = await client.listJobs({ status: 'finished', site });
      assert.deepEqual(finished.jobs.map((j) => j.queue).sort(), ['default', 'long', 'short'], 'finished jobs of every shard are listed');
      assert.equal((await client.listJobs({ status: 'failed' })).total, 1);
      assert.equal(await client.requeueFailed({ queue: 'long' }), 1, 'the failed job is requeued on its shard');
      assert.equal((await client.getJob(site, failing))?.queue, 'long');
      assert.ok((await client.getWorkers()).length >= 1, 'the worker registry is read');
      // The scheduler lease lives on the bench's own tag: one holder at a time.
      const redis = await client.connection();
      const a = new SchedulerLease(redis, bench.benchId, { ttlMs: 10_000 });
      const b = new SchedulerLease(redis, bench.benchId, { ttlMs: 10_000 });
      assert.equal(await a.acquire(), true);
      assert.equal(await b.acquire(), false, 'a second scheduler waits');
      await a.release();
      assert.equal(await b.acquire(), true, 'the lease passes on once released');
      await b.release();
    } finally {
      await worker.stop();
      await client.close();
    }
  });

  it('the CLI works on a Cluster: enqueue, doctor, counts, listings and a burst worker over three shards', { timeout: 90_000 }, async () => {
    const bench = clusterBench({ bench_id: await spreadBenchId(cluster, 'cli', ['short', 'default', 'long']) });
    const run = async (args: string[]) => {
      const result = await runBench(['--site', 'site1.test', ...args], { cwd: bench.path });
      assert.equal(result.code, 0, shown(result));
      return result.stdout;
    };
    for (const queue of ['short', 'default', 'long']) await run(['enqueue', 'testapp.tasks.echo', '--queue', queue, '--kwargs', `{"q":"${queue}"}`]);
    const report = JSON.parse((await runBench(['doctor', '--json'], { cwd: bench.path })).stdout) as { queues: { queue: string; queued: number }[] };
    assert.deepEqual(report.queues.map((q) => [q.queue, q.queued]), [['short', 1], ['default', 1], ['long', 1]], 'doctor reads every shard');
    assert.match(await run(['jobs', 'counts']), /long/);
    await run(['worker', '--burst', '--queue', 'short,default,long']);
    const listed = await run(['jobs', 'list', '--status', 'finished', '--json']);
    assert.equal((JSON.parse(listed) as { jobs: unknown[] }).jobs.length, 3, 'the burst worker ran the jobs of every shard');
  });

  it('a graceful failover (CLUSTER FAILOVER) under an idle worker\'s wait: the wait follows the slot to the new master and the next job runs at once', { timeout: 90_000 }, async () => {
    const bench = clusterBench();
    const client = await BenchClient.open({ benchPath: bench.path });
    const { worker, done, lines } = capturingSupervisor(bench, { numWorkers: 1, concurrency: 1, blockSeconds: 30 });
    try {
      await workersUp(bench, 1);
      const marker = queueKeys(bench.benchId, 'default').marker;
      const master = await cluster.masterOf(marker);
      const replica = await cluster.replicaOf(master);
      assert.equal(await replica.client.cluster('FAILOVER'), 'OK');
      await waitFor(async () => (await cluster.masterOf(marker)).port === replica.port, { what: 'the replica to take over', timeoutMs: 20_000 });
      const enqueuedAt = Date.now();
      const id = (await client.enqueue('testapp.tasks.echo', { site: 'site1.test' })) as string;
      await waitFor(async () => (await status(bench, 'default', id)) === 'finished', { what: 'the job enqueued after the failover to run', timeoutMs: 30_000, intervalMs: 10 });
      const tookMs = Date.now() - enqueuedAt;
      // Redis answers the blocked BZPOPMIN with MOVED (ioredis re-sends it to the new master) or UNBLOCKED
      // (the worker replaces its connection and waits again); either way the wait must not stay on the demoted node.
      const unblocked = lines.filter((l) => l['msg'] === 'blocking wait failed; replacing its connection').length;
      console.log(`cluster: after a graceful failover, a job ran ${tookMs} ms after its enqueue (${unblocked} wait(s) replaced)`);
      assert.ok(tookMs < 25_000, 'woken by the enqueue on the new master, not by its 30 s wait running out');
    } finally {
      await worker.stop();
      await done;
      await client.close();
    }
  });

  it('a Cluster that requires a password: the URL\'s password works, a wrong one is a clear ERR_REDIS_UNAVAILABLE', { timeout: 60_000 }, async () => {
    const locked = await startCluster({ password: 's3cret' });
    try {
      const bench = makeBench({ redisUrl: 'redis://127.0.0.1:1', common: { redis_queue_cluster: locked.urls } });
      benches.push(bench);
      const client = await BenchClient.open({ benchPath: bench.path });
      try {
        const id = (await client.enqueue('testapp.tasks.add', { site: 'site1.test', kwargs: { a: 2, b: 3 } })) as string;
        await runBench(['worker', '--burst'], { cwd: bench.path }).then((r) => assert.equal(r.code, 0, shown(r)));
        assert.equal((await client.getJob('site1.test', id))?.result, 5);
      } finally {
        await client.close();
      }
      bench.writeCommon({ redis_queue_cluster: locked.urls.map((url) => url.replace('s3cret', 'wrong')) });
      await assert.rejects(createRedis(loadBenchConfig(bench.path).settings, { role: 'producer' }), (err: BenchError) => {
        assert.equal(err.code, 'ERR_REDIS_UNAVAILABLE');
        assert.match(err.message, /Redis Cluster via redis:\/\/:?\*+@127\.0\.0\.1/);
        assert.doesNotMatch(err.message, /wrong/, 'the password is not shown');
        return true;
      });
    } finally {
      await locked.stop();
    }
  });

  it('a master SIGKILLed mid-drain: its replica takes over and every job still ends finished, once recorded', { timeout: 180_000 }, async () => {
    const bench = clusterBench({ worker_lease_ttl: 3, job_crash_limit: 100, max_queued_jobs: 10_000 });
    const file = tempFile('chaos');
    const client = await BenchClient.open({ benchPath: bench.path });
    const ids = (await client.enqueueMany('testapp.tasks.chaos', Array.from({ length: 3000 }, (_, i) => ({ file, ms: 2 + (i % 5) })), { site: 'site1.test' })) as string[];
    await client.close();
    const keys = queueKeys(bench.benchId, 'default');
    const master = await cluster.masterOf(keys.marker);
    // Every accepted job is on the replica before the chaos: the loss measured is the drain's, not the enqueue's.
    assert.equal(await master.client.call('WAIT', '1', '5000'), 1);

    const worker = startSupervisor(bench, { queues: ['short', 'default'], numWorkers: 2, concurrency: 4 });
    try {
      await waitFor(async () => (await cluster.client.zcard(keys.finished)) >= 600, { what: 'a fifth of the jobs to finish', timeoutMs: 60_000 });
      const killedAt = Date.now();
      cluster.kill(master);
      await waitFor(async () => (await cluster.masterOf(keys.marker).catch(() => master)) !== master, { what: 'a replica to take the slot over', timeoutMs: 30_000, intervalMs: 100 });
      console.log(`cluster: replica promoted ${Date.now() - killedAt} ms after the master's SIGKILL`);
      await waitFor(async () => (await cluster.client.zcard(keys.finished)) === ids.length, { what: 'every job to finish on the new master', timeoutMs: 120_000, intervalMs: 250 });
      console.log(`cluster: every job finished ${Date.now() - killedAt} ms after the master's SIGKILL`);
    } finally {
      await worker.stop();
    }

    const pipeline = cluster.client.pipeline();
    for (const id of ids) pipeline.hget(keys.job(id), 'status');
    const statuses = ((await pipeline.exec()) ?? []).map(([, v]) => v as string | null);
    const runs = new Map<string, number>();
    for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
      const id = line.split(' ')[0] as string;
      runs.set(id, (runs.get(id) ?? 0) + 1);
    }
    const twice = [...runs.values()].filter((n) => n > 1).length;
    console.log(`cluster: ${ids.length} jobs, ${runs.size} ran, ${twice} ran more than once (at-least-once across the failover)`);
    assert.equal(statuses.filter((s) => s !== 'finished').length, 0, 'every job is finished on the new master');
    assert.equal(runs.size, ids.length, 'every job ran');
    assert.equal(await cluster.client.zcard(keys.active), 0, 'nothing left in flight');
    assert.equal(await queuedCount(cluster.client, bench.benchId, 'default'), 0, 'nothing left queued');
  });
});
