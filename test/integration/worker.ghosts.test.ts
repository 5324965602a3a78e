// A job end that Redis lost (an acknowledged write a failover dropped) must not leave the job in flight
// for as long as its worker process lives. Set up as a failover leaves it: the job finished, then its
// end is undone in Redis (running again, under the same worker process and token), and the worker's
// connections are dropped. After its reconnect the worker process hands the job back, and it runs again.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

let redis: TestRedis;
let bench: TestBench;

before(async () => {
  redis = await startRedis();
  bench = makeBench({ redisUrl: redis.url });
});
after(async () => {
  bench.remove();
  await redis.stop();
});

describe('job ends lost by Redis', () => {
  it('a job Redis still has running under a live worker process that forgot it is handed back after a reconnect, and runs again', { timeout: 90_000 }, async () => {
    const file = path.join(os.tmpdir(), `bw-ghost-${process.pid}-${Date.now()}`);
    const client = await BenchClient.open({ benchPath: bench.path });
    const worker = startSupervisor(bench, { queues: ['default'], numWorkers: 1, concurrency: 2 });
    try {
      await worker.ready();
      const id = await client.enqueue('testapp.tasks.record', { site: 'site1.test', kwargs: { file, value: 'ran' } });
      await waitForStatus(redis.client, bench, 'default', id as string, 'finished');
      const k = queueKeys(bench.benchId, 'default');
      const jobKey = k.job(id as string);
      // The failover: the new master never saw the end, so the job runs there still, as claimed.
      await redis.client
        .multi()
        .hset(jobKey, 'status', 'started')
        .hdel(jobKey, 'ended', 'result')
        .persist(jobKey)
        .zrem(k.finished, id as string)
        .zadd(k.active, Date.now(), id as string)
        .exec();
      // ... and the worker's connections drop, as they do when a master dies.
      await redis.client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await waitFor(() => existsSync(file) && readFileSync(file, 'utf8') === 'ran\nran\n', { what: 'the job to run again', timeoutMs: 30_000 });
      await waitForStatus(redis.client, bench, 'default', id as string, 'finished');
      assert.equal(await redis.client.zcard(k.active), 0, 'nothing left in flight');
      assert.equal(await redis.client.hget(jobKey, 'stalls'), null, 'handed back without blame: no crash counted');
    } finally {
      await worker.stop();
      await client.close();
      rmSync(file, { force: true });
    }
  });
});
