// Prefetch: a worker process running short jobs claims a few beyond its slots, and ends them in batches;
// when a slow job takes the slot, the jobs it prefetched go back to the queue for other workers instead of
// waiting behind it, and a stop hands them back unstarted (their attempt undone).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { readJob, startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { queuedIds } from '../helpers/queued.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';

const benches = useRedisBenches();
const SITE = 'site1.test';

function tempFile(name: string): string {
  return path.join(os.tmpdir(), `bw-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
}

describe('prefetch', () => {
  it('jobs prefetched behind a slow job go back to the queue and run elsewhere', { timeout: 60_000 }, async () => {
    const bench = benches.newBench();
    const client = await BenchClient.open({ benchPath: bench.path });
    const runs = tempFile('prefetch');
    const w = startSupervisor(bench, { numWorkers: 2, concurrency: 1, queues: ['default'] });
    try {
      await w.ready();
      // Short jobs first, so that the processes measure them and start to prefetch.
      const warm = await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 400 }, () => ({})), { site: SITE });
      await waitForStatus(benches.redis.client, bench, 'default', warm[warm.length - 1] as string, 'finished');
      // 9 s: a loaded machine (the suite runs files in parallel) must not make the quick jobs look stuck.
      const slow = await client.enqueue('testapp.tasks.hold', { site: SITE, kwargs: { file: runs, ms: 9000 } });
      const quick = await client.enqueueMany('testapp.tasks.record', Array.from({ length: 20 }, (_, i) => ({ file: runs, value: `q${i}` })), { site: SITE });
      const enqueuedAt = Date.now();
      for (const id of quick) await waitForStatus(benches.redis.client, bench, 'default', id, 'finished', 20_000);
      const tookMs = Date.now() - enqueuedAt;
      assert.ok(tookMs < 7000, `the quick jobs waited ${tookMs} ms: they sat behind the 9 s job instead of going to the other process`);
      assert.equal((await readJob(benches.redis.client, bench.benchId, 'default', slow))?.status, 'started', 'the slow job still runs');
      for (const id of quick) {
        const job = await readJob(benches.redis.client, bench.benchId, 'default', id);
        assert.equal(job?.attempts, 1, 'a job handed back unstarted keeps its attempt count');
      }
    } finally {
      await w.stop();
      await client.close();
    }
    assert.ok(existsSync(runs) && readFileSync(runs, 'utf8').includes('q19'));
  });

  it('a stop hands prefetched jobs back unstarted', { timeout: 60_000 }, async () => {
    const bench = benches.newBench();
    const client = await BenchClient.open({ benchPath: bench.path });
    const file = tempFile('prefetch-stop');
    const w = startSupervisor(bench, { numWorkers: 1, concurrency: 1, queues: ['default'] });
    try {
      await w.ready();
      const warm = await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 400 }, () => ({})), { site: SITE });
      await waitForStatus(benches.redis.client, bench, 'default', warm[warm.length - 1] as string, 'finished');
      // The slow job (at the front) and 30 quick ones behind it are sent together, so that the worker's
      // one claim finds them all and prefetches quick ones behind the slow one. (Sent one after the
      // other, the claim could come between them and find nothing to prefetch.)
      await Promise.all([
        client.enqueueMany('testapp.tasks.echo', Array.from({ length: 30 }, () => ({})), { site: SITE }),
        client.enqueue('testapp.tasks.hold', { site: SITE, atFront: true, kwargs: { file, ms: 2000 } }),
      ]);
      await waitFor(() => existsSync(file), { what: 'the slow job to start' });
    } finally {
      await w.stop();
    }
    const k = queueKeys(bench.benchId, 'default');
    const redis = benches.redis.client;
    assert.equal(await redis.zcard(k.active), 0, 'nothing left in flight');
    let handedBack = 0;
    for (const id of await queuedIds(redis, bench.benchId, 'default')) {
      const job = await readJob(redis, bench.benchId, 'default', id);
      assert.equal(job?.status, 'queued');
      assert.equal(job?.attempts, 0, `${id}: handed back with its attempt undone`);
      if ((await redis.hget(k.job(id), 'lastStall')) === 'claimed while its worker stopped') handedBack++;
    }
    assert.ok(handedBack > 0, 'the process had prefetched jobs, and handed them back unstarted');
    await client.close();
  });
});
