// The worker as a daemon, against a real redis-server: it wakes at once when a job arrives on any
// listened queue, honours queue priority and strategies, drains in burst mode, shuts down warm or
// cold on signals, and a dead worker's job is recovered by another worker's reaper.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { queueKeys } from '../../src/redis/keys.ts';
import { collectLogs, runBench, spawnBench } from '../helpers/cli.ts';
import { readJob, startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { clearQueued, queuedCount, queuedIds } from '../helpers/queued.ts';
import { useBenchSuite } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { exitOf, killGroup, processAlive, processState } from '../helpers/process.ts';

const SITE = 'site1.test';
const suite = useBenchSuite({ common: { worker_lease_ttl: 2, workers: { reports: { timeout: 900 } } } });

function tempFile(name: string): string {
  return path.join(os.tmpdir(), `bw-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
}

/**
 * `bench worker` in its own process group, killed with the whole group after the file: a shutdown test
 * that fails must not leave a worker (and the job child it forked) running, holding the runner open.
 */
const spawned: ChildProcess[] = [];
after(() => spawned.forEach(killGroup));
function spawnWorker(args: readonly string[]): ChildProcess {
  const child = spawnBench(args, { cwd: suite.bench.path, detached: true });
  spawned.push(child);
  return child;
}

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');

/** Wait until `file` exists and holds `count` lines (jobs write them as they start). */
function waitForLines(file: string, count: number) {
  return waitFor(() => existsSync(file) && lines(file).length === count, { what: `${count} line(s) in ${file}` });
}

describe('waking up', () => {
  it('an idle worker listening to several queues starts a new job within milliseconds', async () => {
    // Blocking waits of 30 s: only the marker can wake the worker within the bound below.
    const w = startSupervisor(suite.bench, { queues: ['short', 'default', 'long', 'reports'], blockSeconds: 30 });
    try {
      // Let the worker go idle and block on the markers first.
      const warm = await suite.client.enqueue('testapp.tasks.echo', { site: SITE });
      await waitForStatus(suite.redis.client, suite.bench, 'default', warm, 'finished');
      const latencies: number[] = [];
      for (const queue of ['long', 'reports', 'short', 'default']) {
        await new Promise((r) => setTimeout(r, 200)); // idle: the worker is inside its blocking wait
        const sent = Date.now();
        const id = await suite.client.enqueue('testapp.tasks.echo', { site: SITE, queue });
        const startedAt = await waitFor(async () => (await readJob(suite.redis.client, suite.bench.benchId, queue, id))?.startedAt, {
          what: `job ${id} to start`,
        });
        latencies.push(startedAt - sent);
      }
      console.log(`enqueue-to-start latency by queue (ms): ${latencies.join(', ')}`);
      // Typically 1-5 ms; the bound leaves room for a loaded machine.
      for (const ms of latencies) assert.ok(ms < 2500, `woke after ${ms} ms: a blocking wait lasts 30 s, so this must come from the marker`);
    } finally {
      await w.stop();
    }
  });
});

describe('queue order', () => {
  it('takes queues in priority order: short, default, long, then custom', async () => {
    const file = tempFile('priority');
    for (const queue of ['reports', 'long', 'default', 'short']) {
      await suite.client.enqueue('testapp.tasks.record', { site: SITE, queue, kwargs: { file, value: queue } });
    }
    await startSupervisor(suite.bench, { burst: true }).done;
    assert.deepEqual(lines(file), ['short', 'default', 'long', 'reports']);
  });

  it('listens only to the queues given, in the order given', async () => {
    const file = tempFile('only');
    await suite.client.enqueue('testapp.tasks.record', { site: SITE, queue: 'short', kwargs: { file, value: 'short' } });
    const longId = await suite.client.enqueue('testapp.tasks.record', { site: SITE, queue: 'long', kwargs: { file, value: 'long' } });
    const defaultId = await suite.client.enqueue('testapp.tasks.record', { site: SITE, queue: 'default', kwargs: { file, value: 'default' } });
    await startSupervisor(suite.bench, { burst: true, queues: ['long', 'default'] }).done;
    assert.deepEqual(lines(file), ['long', 'default']);
    assert.ok(await readJob(suite.redis.client, suite.bench.benchId, 'long', longId));
    assert.equal((await readJob(suite.redis.client, suite.bench.benchId, 'default', defaultId))?.status, 'finished');
    assert.equal(await queuedCount(suite.redis.client, suite.bench.benchId, 'short'), 1, 'short was not listened to');
    await startSupervisor(suite.bench, { burst: true, queues: ['short'] }).done;
  });

  it('round_robin alternates between queues', async () => {
    const file = tempFile('rr');
    for (const queue of ['short', 'short', 'default', 'default']) {
      await suite.client.enqueue('testapp.tasks.record', { site: SITE, queue, kwargs: { file, value: queue } });
    }
    await startSupervisor(suite.bench, { burst: true, queues: ['short', 'default'], strategy: 'round_robin' }).done;
    assert.deepEqual(lines(file), ['short', 'default', 'short', 'default']);
  });

  it('at_front puts a job before the ones already waiting', async () => {
    const file = tempFile('front');
    await suite.client.enqueue('testapp.tasks.record', { site: SITE, kwargs: { file, value: 'first' } });
    await suite.client.enqueue('testapp.tasks.record', { site: SITE, atFront: true, kwargs: { file, value: 'urgent' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    assert.deepEqual(lines(file), ['urgent', 'first']);
  });
});

describe('bench worker --burst (CLI)', () => {
  it('runs 1,000 jobs queued across three queues and exits 0', { timeout: 120_000 }, async () => {
    const perQueue = 334;
    const ids: { queue: string; id: string }[] = [];
    for (const queue of ['short', 'default', 'long']) {
      const list = await suite.client.enqueueMany('testapp.tasks.add', Array.from({ length: perQueue }, (_, i) => ({ a: i, b: 1 })), { site: SITE, queue });
      ids.push(...list.map((id) => ({ queue, id })));
    }
    const started = Date.now();
    const result = await runBench(['worker', '--burst', '--quiet'], { cwd: suite.bench.path, timeoutMs: 110_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.code, 0, result.stderr);
    console.log(`bench worker --burst ran ${ids.length} jobs in ${seconds.toFixed(2)} s`);
    for (const queue of ['short', 'default', 'long']) {
      const k = queueKeys(suite.bench.benchId, queue);
      assert.equal(await queuedCount(suite.redis.client, suite.bench.benchId, queue), 0);
      assert.equal(await suite.redis.client.zcard(k.active), 0);
    }
    const pipeline = suite.redis.client.pipeline();
    for (const { queue, id } of ids) pipeline.hget(queueKeys(suite.bench.benchId, queue).job(id), 'status');
    const statuses = (await pipeline.exec())?.map(([, status]) => status);
    assert.equal(statuses?.filter((s) => s === 'finished').length, ids.length);
  });

  it('exits non-zero naming the queue when --queue names an unknown queue', async () => {
    const result = await runBench(['worker', '--burst', '--queue', 'default,nope'], { cwd: suite.bench.path });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /unknown queue "nope".*short, default, long, reports/);
  });
});

describe('shutdown and recovery', () => {
  it('first SIGTERM: warm shutdown lets the running job finish, then exits 0', { timeout: 30_000 }, async () => {
    const file = tempFile('warm');
    const id = await suite.client.enqueue('testapp.tasks.hold', { site: SITE, kwargs: { file, ms: 1500 } });
    const worker = spawnWorker(['worker']);
    const logs = collectLogs(worker);
    await waitForLines(file, 1);
    worker.kill('SIGTERM');
    // Bounded: a worker that ignored the SIGTERM, or never finished, fails here (the group is killed after the file).
    const code = await exitOf(worker, 15_000, 'the worker to finish its job and exit after SIGTERM').catch((err: Error) => {
      throw new Error(`${err.message}; worker log:\n${logs.text()}`);
    });
    assert.equal(code, 0, logs.text());
    assert.equal((await readJob(suite.redis.client, suite.bench.benchId, 'default', id))?.status, 'finished');
  });

  it('second signal: cold shutdown kills the job child and hands the job back to the front', { timeout: 30_000 }, async () => {
    const file = tempFile('cold');
    const next = await suite.client.enqueue('testapp.tasks.echo', { site: SITE });
    const id = await suite.client.enqueue('testapp.tasks.hold', { site: SITE, atFront: true, kwargs: { file, ms: 60_000 } });
    const worker = spawnWorker(['worker', '--queue', 'default']);
    const logs = collectLogs(worker);
    await waitForLines(file, 1);
    const childPid = Number(lines(file)[0]?.split(' ')[0]);
    worker.kill('SIGTERM');
    await waitFor(() => logs.lines.some((l) => l['msg'] === 'warm shutdown: finishing running jobs, claiming no more'), { what: 'warm shutdown' });
    worker.kill('SIGTERM');
    const code = await exitOf(worker, 15_000, 'the worker to exit after the second SIGTERM').catch((err: Error) => {
      throw new Error(`${err.message}; worker log:\n${logs.text()}`);
    });
    const job = await readJob(suite.redis.client, suite.bench.benchId, 'default', id);
    assert.equal(code, 0, logs.text());
    assert.equal(job?.status, 'queued');
    assert.equal(job?.stalls, 0, 'a cold shutdown is not the job\'s fault');
    try {
      assert.deepEqual(await queuedIds(suite.redis.client, suite.bench.benchId, 'default'), [id, next]);
      // Gone, not merely signalled (it may take the kernel a moment to finish it after its parent exits).
      await waitFor(() => !processAlive(childPid), { what: `the killed job child ${childPid} to be gone`, timeoutMs: 10_000 }).catch((err: Error) => {
        throw new Error(`${err.message} (its state: ${processState(childPid) ?? 'unknown'}); worker log:\n${logs.text()}`);
      });
    } finally {
      // Nothing left queued for the next tests: the site's lane, the ring of sites and the queue's count.
      await clearQueued(suite.redis.client, suite.bench.benchId, 'default');
    }
  });

  it('SIGKILL of the worker: its child exits and another worker\'s reaper runs the job again', { timeout: 60_000 }, async () => {
    const file = tempFile('sigkill');
    const id = await suite.client.enqueue('testapp.tasks.hold', { site: SITE, kwargs: { file, ms: 1000 } });
    const worker = spawnWorker(['worker', '--queue', 'default']);
    await waitForLines(file, 1);
    const childPid = Number(lines(file)[0]?.split(' ')[0]);
    worker.kill('SIGKILL');
    // Its way out: up to 2 s for its job, 2 s to hand jobs back, up to 1 s per connection to quit; on a
    // loaded machine (the whole suite in parallel) that has taken over 10 s.
    await waitFor(() => !processAlive(childPid), { what: 'orphaned child to exit', timeoutMs: 20_000 });
    const rescuer = startSupervisor(suite.bench, { queues: ['default'] });
    try {
      const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished', 20_000);
      assert.equal(job.attempts, 2);
      assert.equal(job.stalls, 1);
      assert.equal(lines(file).length, 2, 'ran twice: once killed, once to completion');
    } finally {
      await rescuer.stop();
    }
  });

  it('survives a Redis restart while idle and runs jobs enqueued afterwards', { timeout: 40_000 }, async () => {
    const w = startSupervisor(suite.bench, { queues: ['default'] });
    try {
      const first = await suite.client.enqueue('testapp.tasks.echo', { site: SITE });
      await waitForStatus(suite.redis.client, suite.bench, 'default', first, 'finished');
      await suite.redis.restart();
      const second = await waitFor(() => suite.client.enqueue('testapp.tasks.echo', { site: SITE }).catch(() => undefined), { what: 'enqueue after restart', timeoutMs: 15_000 });
      await waitForStatus(suite.redis.client, suite.bench, 'default', second, 'finished', 20_000);
    } finally {
      await w.stop();
    }
  });
});
