// Per-site fairness within a queue (issue 13): sites take turns (a flood of one site never starves the
// others), queue_weight gives weighted turns, max_concurrent_jobs caps a site's running jobs across every
// worker process (in Redis), and max_queued_jobs_per_site refuses the flooding site only. Everything is
// measured from what Redis recorded (claim and end times on the Redis clock), not from sleeps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import type { BenchError } from '../../src/errors.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { queuedCount } from '../helpers/queued.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const A = 'a.test';
const B = 'b.test';

let redis: TestRedis;
const benches: TestBench[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  benches.forEach((b) => b.remove());
  await redis.stop();
});

function twoSiteBench(sites: { a?: Record<string, unknown>; b?: Record<string, unknown> } = {}, common: Record<string, unknown> = {}): TestBench {
  const bench = makeBench({ redisUrl: redis.url, common: { max_queued_jobs: 200_000, ...common }, sites: { [A]: sites.a ?? {}, [B]: sites.b ?? {} } });
  benches.push(bench);
  return bench;
}

/** Each job's claim time and end time (Redis clock, ms) and its site. */
async function runTimes(bench: TestBench, ids: readonly string[]): Promise<{ id: string; started: number; ended: number }[]> {
  const pipeline = redis.client.pipeline();
  for (const id of ids) pipeline.hmget(queueKeys(bench.benchId, 'default').job(id), 'started', 'ended');
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([, v], i) => {
    const [started, ended] = v as [string, string];
    return { id: ids[i] as string, started: Number(started), ended: Number(ended) };
  });
}

describe('per-site fairness', () => {
  it('a site with 10 jobs queued behind another site\'s 50,000 gets them run before 200 more of the flood have finished', { timeout: 120_000 }, async () => {
    const bench = twoSiteBench();
    const client = await BenchClient.open({ benchPath: bench.path });
    const worker = startSupervisor(bench, { queues: ['default'], numWorkers: 2, concurrency: 2 });
    try {
      const flood = Array.from({ length: 50_000 }, () => ({}));
      await client.enqueueMany('testapp.tasks.echo', flood, { site: A });
      await worker.ready();
      const finished = queueKeys(bench.benchId, 'default').finished;
      await waitFor(async () => (await redis.client.zcard(finished)) >= 500, { what: 'the flood to be running' });
      const few = await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 10 }, () => ({})), { site: B });
      for (const id of few) await waitForStatus(redis.client, bench, 'default', id as string, 'finished', 30_000);

      // Finished-set scores are end time + rq_results_ttl: count what ended between B's enqueue and B's last end.
      const ttlMs = 600_000;
      const enqueuedAt = Number(await redis.client.hget(queueKeys(bench.benchId, 'default').job(few[0] as string), 'enq'));
      const lastEnd = Math.max(...(await runTimes(bench, few as string[])).map((t) => t.ended));
      const endedMeanwhile = await redis.client.zcount(finished, enqueuedAt + ttlMs, lastEnd + ttlMs);
      const floodMeanwhile = endedMeanwhile - few.length;
      console.log(`flood: ${floodMeanwhile} of site A's jobs finished between site B's enqueue and its last job's end (${lastEnd - enqueuedAt} ms)`);
      assert.ok(floodMeanwhile < 200, `only ${floodMeanwhile} of the flood ran meanwhile (at most 200)`);
      assert.ok((await queuedCount(redis.client, bench.benchId, 'default')) > 40_000, 'the flood was still queued: B really waited behind it');
    } finally {
      await worker.stop();
      await client.close();
    }
  });

  it('queue_weight 3 against 1 gives a 3:1 share of 4,000 jobs, within 10%', { timeout: 120_000 }, async () => {
    const bench = twoSiteBench({ a: { queue_weight: 3 } });
    const client = await BenchClient.open({ benchPath: bench.path });
    try {
      for (const site of [A, B]) await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 4000 }, () => ({})), { site });
      const worker = startSupervisor(bench, { queues: ['default'], numWorkers: 2, concurrency: 2 });
      const finished = queueKeys(bench.benchId, 'default').finished;
      try {
        await waitFor(async () => (await redis.client.zcard(finished)) >= 4000, { what: '4,000 jobs to finish', timeoutMs: 90_000 });
      } finally {
        await worker.stop();
      }
      const first = await redis.client.zrange(finished, '0', '3999');
      const ofA = first.filter((id) => id.startsWith(`${A}||`)).length;
      const ratio = ofA / (first.length - ofA);
      console.log(`weights 3:1: ${ofA} of site A, ${first.length - ofA} of site B in the first 4,000 (ratio ${ratio.toFixed(2)})`);
      assert.ok(Math.abs(ratio - 3) <= 0.3, `share ${ratio.toFixed(2)}:1, expected 3:1 within 10%`);
    } finally {
      await client.close();
    }
  });

  it('max_concurrent_jobs caps a site\'s running jobs across two worker processes, and other sites run meanwhile', { timeout: 120_000 }, async () => {
    const bench = twoSiteBench({ a: { max_concurrent_jobs: { default: 2 } } });
    const client = await BenchClient.open({ benchPath: bench.path });
    const worker = startSupervisor(bench, { queues: ['default'], numWorkers: 2, concurrency: 4 });
    try {
      await worker.ready();
      const capped = (await client.enqueueMany('testapp.tasks.sleep', Array.from({ length: 16 }, () => ({ ms: 150 })), { site: A })) as string[];
      const free = (await client.enqueueMany('testapp.tasks.sleep', Array.from({ length: 12 }, () => ({ ms: 150 })), { site: B })) as string[];
      for (const id of [...capped, ...free]) await waitForStatus(redis.client, bench, 'default', id, 'finished', 60_000);

      const overlap = (times: { started: number; ended: number }[]) => {
        const edges = times.flatMap((t) => [[t.started, 1] as const, [t.ended, -1] as const]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
        let now = 0;
        let most = 0;
        for (const [, step] of edges) most = Math.max(most, (now += step));
        return most;
      };
      const aTimes = await runTimes(bench, capped);
      const bTimes = await runTimes(bench, free);
      const mostA = overlap(aTimes);
      const mostB = overlap(bTimes);
      console.log(`max_concurrent_jobs 2: site A had at most ${mostA} claimed at once, site B ${mostB}`);
      assert.equal(mostA, 2, 'site A never had more than 2 jobs claimed at once, and reached 2');
      assert.ok(mostB > 2, 'site B used the slots site A could not');
      const lastB = Math.max(...bTimes.map((t) => t.ended));
      const lastA = Math.max(...aTimes.map((t) => t.ended));
      assert.ok(lastB < lastA, 'site B finished first: its jobs did not wait behind the capped site');
      assert.equal(await redis.client.hlen(queueKeys(bench.benchId, 'default').running), 0, 'no running job left counted');
    } finally {
      await worker.stop();
      await client.close();
    }
  });

  it('a job under a cap whose worker process dies is counted out, and the cap does not leak', { timeout: 120_000 }, async () => {
    const bench = twoSiteBench({ a: { max_concurrent_jobs: 1 } }, { worker_lease_ttl: 2 });
    const client = await BenchClient.open({ benchPath: bench.path });
    const worker = startSupervisor(bench, { queues: ['default'], numWorkers: 1, concurrency: 2 });
    try {
      await worker.ready();
      const [crashing] = (await client.enqueueMany('testapp.tasks.crash', [{}], { site: A })) as string[];
      const after = (await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 3 }, () => ({})), { site: A })) as string[];
      // The crash limit fails the crashing job as abandoned; each crash hands its cap slot back.
      await waitForStatus(redis.client, bench, 'default', crashing as string, 'failed', 60_000);
      for (const id of after) await waitForStatus(redis.client, bench, 'default', id, 'finished', 30_000);
      assert.equal(await redis.client.hlen(queueKeys(bench.benchId, 'default').running), 0, 'nothing left counted against the cap');
    } finally {
      await worker.stop();
      await client.close();
    }
  });

  it('max_queued_jobs_per_site refuses the flooding site, naming it, and not the others', async () => {
    const bench = twoSiteBench({}, { max_queued_jobs_per_site: 5 });
    const client = await BenchClient.open({ benchPath: bench.path });
    try {
      await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 5 }, () => ({})), { site: A });
      await assert.rejects(client.enqueue('testapp.tasks.echo', { site: A }), (err: BenchError) => {
        assert.equal(err.code, 'ERR_QUEUE_OVERLOADED');
        assert.match(err.message, /site "a\.test".*max_queued_jobs_per_site/);
        return true;
      });
      await assert.rejects(client.enqueueMany('testapp.tasks.echo', Array.from({ length: 6 }, () => ({})), { site: B }), (err: BenchError) => {
        assert.equal(err.code, 'ERR_QUEUE_OVERLOADED');
        assert.match(err.message, /site "b\.test".*limit 5/);
        return true;
      });
      assert.ok(await client.enqueue('testapp.tasks.echo', { site: B }), 'site B still enqueues');
      assert.equal(await queuedCount(redis.client, bench.benchId, 'default'), 6, 'nothing refused was written');
    } finally {
      await client.close();
    }
  });
});
