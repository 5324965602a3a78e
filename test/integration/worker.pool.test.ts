// A supervisor with several job-running children: slots (N children x C jobs), monitoring entries per
// child, replacement of a dead child, recycling by job count and memory, timeouts with concurrency,
// stop-job, and the start-up warning about a Redis that would lose jobs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { benchKeys, queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { collectLogs, runBench, spawnBench } from '../helpers/cli.ts';
import { readJob, startSupervisor, stopped, waitForStatus } from '../helpers/jobs.ts';
import { clearQueued, queuedCount } from '../helpers/queued.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

let redis: TestRedis;
let client: BenchClient;
let bench: TestBench;
const benches: TestBench[] = [];
const SITE = 'site1.test';

before(async () => {
  redis = await startRedis();
  bench = newBench({ job_timeout_grace: 1 });
  client = await BenchClient.open({ benchPath: bench.path });
});

after(async () => {
  await client.close();
  await redis.stop();
  benches.forEach((b) => b.remove());
});

function newBench(common: Record<string, unknown>): TestBench {
  const b = makeBench({ redisUrl: redis.url, common });
  benches.push(b);
  return b;
}

function tempFile(name: string): string {
  return path.join(os.tmpdir(), `bw-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
}

/** Lines "pid jobId" written by testapp.tasks.hold as each job starts. */
function holders(file: string): { pid: number; id: string }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
    const [pid, id] = line.split(' ');
    return { pid: Number(pid), id: id as string };
  });
}

async function workers(b: TestBench): Promise<Record<string, string>[]> {
  const keys = benchKeys(b.benchId);
  const names = await redis.client.zrange(keys.workers, '0', '-1');
  const hashes = await Promise.all(names.map((n) => redis.client.hgetall(keys.worker(n))));
  return hashes.filter((h) => Object.keys(h).length > 0);
}

describe('pool of job children', () => {
  it('--num-workers 3 runs three jobs at once on three children, each visible as a worker', { timeout: 30_000 }, async () => {
    const file = tempFile('pool');
    const ids = await client.enqueueMany('testapp.tasks.hold', [0, 1, 2].map(() => ({ file, ms: 60_000 })), { site: SITE });
    const w = startSupervisor(bench, { numWorkers: 3, queues: ['default'] });
    try {
      await waitFor(() => holders(file).length === 3, { what: 'three jobs running' });
      assert.equal(new Set(holders(file).map((h) => h.pid)).size, 3);
      const seen = await waitFor(async () => {
        const list = await workers(bench);
        return list.length === 3 && list.every((x) => x['state'] === 'busy') ? list : undefined;
      }, { what: 'three busy workers in the registry' });
      for (const entry of seen) {
        for (const field of ['name', 'pid', 'host', 'queues', 'state', 'current_job', 'successful_job_count', 'failed_job_count', 'total_working_time', 'birth', 'last_heartbeat']) {
          assert.ok(field in entry, `worker entry has ${field}`);
        }
        assert.equal(entry['queues'], 'default');
        assert.ok(ids.includes(entry['current_job'] as string));
        const ttl = await redis.client.ttl(benchKeys(bench.benchId).worker(entry['name'] as string));
        assert.ok(ttl > 0 && ttl <= 60, 'a dead worker disappears within a minute');
      }
      for (const id of ids) assert.ok(await client.stopJob(SITE, id));
    } finally {
      await w.stop();
    }
    assert.deepEqual(await workers(bench), [], 'a stopped worker leaves the registry');
  });

  it('claims only for free slots: 1 child x 2 concurrency runs two jobs at once in one process', { timeout: 30_000 }, async () => {
    const file = tempFile('slots');
    await client.enqueueMany('testapp.tasks.hold', [0, 1, 2].map(() => ({ file, ms: 1500 })), { site: SITE });
    const w = startSupervisor(bench, { numWorkers: 1, concurrency: 2, queues: ['default'] });
    try {
      await waitFor(() => holders(file).length === 2, { what: 'two jobs running' });
      assert.equal(new Set(holders(file).map((h) => h.pid)).size, 1);
      assert.equal(await queuedCount(redis.client, bench.benchId, 'default'), 1, 'the third job is still queued');
    } finally {
      await w.stop();
    }
    await startSupervisor(bench, { burst: true, queues: ['default'] }).done;
  });

  it('replaces a child killed under its job at once; the job is handed back and runs again', { timeout: 40_000 }, async () => {
    const file = tempFile('killchild');
    const id = await client.enqueue('testapp.tasks.hold', { site: SITE, kwargs: { file, ms: 300 } });
    const w = startSupervisor(bench, { numWorkers: 2, queues: ['default'] });
    try {
      await waitFor(() => holders(file).length === 1, { what: 'job running' });
      const victim = holders(file)[0]?.pid as number;
      process.kill(victim, 'SIGKILL');
      const job = await waitForStatus(redis.client, bench, 'default', id, 'finished');
      assert.equal(job.stalls, 1);
      assert.equal(holders(file).length, 2);
      assert.notEqual(holders(file)[1]?.pid, victim);
      await waitFor(async () => (await workers(bench)).length === 2 && (await workers(bench)).every((x) => Number(x['pid']) !== victim), {
        what: 'two live children, the killed one gone from the registry',
      });
    } finally {
      await w.stop();
    }
  });

  it('a timeout kills the child; its other job is handed back, not failed', { timeout: 40_000 }, async () => {
    const file = tempFile('timeout-mate');
    const mate = await client.enqueue('testapp.tasks.hold', { site: SITE, kwargs: { file, ms: 200 } });
    const spin = await client.enqueue('testapp.tasks.spin', { site: SITE, timeout: 1 });
    const w = startSupervisor(bench, { numWorkers: 1, concurrency: 2, queues: ['default'] });
    try {
      const failed = await waitForStatus(redis.client, bench, 'default', spin, 'failed');
      assert.equal(failed.error?.code, 'ERR_JOB_TIMEOUT');
      const done = await waitForStatus(redis.client, bench, 'default', mate, 'finished');
      assert.equal(done.stalls, 0, 'the neighbour of a timed-out job is not blamed');
    } finally {
      // Bounded: a child still spinning (the kill broken) never answers a stop; stopped() then kills it.
      await stopped(w);
    }
  });

  it('recycles a child after worker_max_jobs (+ up to 50) jobs', { timeout: 60_000 }, async () => {
    const b = newBench({ worker_max_jobs: 2 });
    const c = await BenchClient.open({ benchPath: b.path });
    const ids = await c.enqueueMany('testapp.tasks.context', Array.from({ length: 60 }, () => ({})), { site: SITE });
    await c.close();
    await startSupervisor(b, { burst: true }).done;
    const pids = new Set<number>();
    for (const id of ids) pids.add(((await waitForStatus(redis.client, b, 'default', id, 'finished')).result as { pid: number }).pid);
    assert.ok(pids.size >= 2, `expected a recycled child, saw pids ${[...pids].join(',')}`);
  });

  it('recycles a child past worker_max_memory_mb, between jobs', { timeout: 60_000 }, async () => {
    const b = newBench({ worker_max_memory_mb: 1 });
    const c = await BenchClient.open({ benchPath: b.path });
    const ids = await c.enqueueMany('testapp.tasks.context', [{}, {}, {}], { site: SITE });
    await c.close();
    await startSupervisor(b, { burst: true }).done;
    const pids = [];
    for (const id of ids) {
      const job = await waitForStatus(redis.client, b, 'default', id, 'finished');
      pids.push((job.result as { pid: number }).pid);
    }
    assert.equal(new Set(pids).size, 3, 'every job ran on a fresh child: each one ended over 1 MiB');
  });
});

describe('stop-job', () => {
  it('stops one running job as stopped while the rest of the pool carries on', { timeout: 40_000 }, async () => {
    const file = tempFile('stop');
    const victim = await client.enqueue('testapp.tasks.hold', { site: SITE, kwargs: { file, ms: 60_000 } });
    const other = await client.enqueue('testapp.tasks.hold', { site: SITE, kwargs: { file, ms: 1500 } });
    const worker = spawnBench(['worker', '--num-workers', '2', '--queue', 'default'], { cwd: bench.path });
    const logs = collectLogs(worker);
    try {
      await waitFor(() => holders(file).length === 2, { what: 'both jobs running' });
      const result = await runBench(['--site', SITE, 'stop-job', victim.split('||')[1] as string], { cwd: bench.path });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /stopped/);
      const stopped = await readJob(redis.client, bench.benchId, 'default', victim);
      assert.equal(stopped?.status, 'stopped');
      assert.equal(stopped?.error?.code, 'ERR_JOB_STOPPED');
      assert.ok(await redis.client.zscore(queueKeys(bench.benchId, 'default').failed, victim));
      await waitForStatus(redis.client, bench, 'default', other, 'finished');
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
    assert.match(logs.text(), /stopping a job on request/);
  });

  it('refuses to stop a job that is not running, or that does not exist', async () => {
    const queued = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' });
    const notRunning = await runBench(['--site', SITE, 'stop-job', queued], { cwd: bench.path });
    assert.equal(notRunning.code, 1);
    assert.match(notRunning.stderr, /ERR_JOB_NOT_RUNNING.*status: queued/);
    const missing = await runBench(['--site', SITE, 'stop-job', 'no-such-job'], { cwd: bench.path });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ERR_JOB_NOT_FOUND/);
    await clearQueued(redis.client, bench.benchId, 'long');
  });
});

describe('start-up checks', () => {
  it('warns when Redis keeps nothing on disk or may evict keys', { timeout: 30_000 }, async () => {
    await redis.client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const result = await runBench(['worker', '--burst', '--queue', 'short'], { cwd: bench.path });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /redis may evict job keys: set maxmemory-policy noeviction/);
      assert.match(result.stdout, /redis keeps nothing on disk/);
    } finally {
      await redis.client.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });
});
