// Redis Sentinel (issue 14): the queue Redis found through Frappe's keys (redis_queue_sentinel_enabled,
// redis_queue_sentinels, redis_queue_master_service) on a real 1 master + 1 replica + 3 Sentinel set,
// and a SIGKILL of the master in the middle of a drain: every accepted job still ends finished, once
// recorded, with nothing left in flight or queued. A job may run twice there (an acknowledged write
// the dead master had not replicated); the test counts those runs and reports them.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BenchClient } from '../../src/client.ts';
import { loadBenchConfig } from '../../src/config/load.ts';
import type { BenchError } from '../../src/errors.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { startSupervisor } from '../helpers/jobs.ts';
import { queuedCount } from '../helpers/queued.ts';
import { MASTER_NAME, startSentinelSet, type SentinelSet } from '../helpers/sentinel.ts';
import { waitFor } from '../helpers/wait-for.ts';

let set: SentinelSet;
const benches: TestBench[] = [];

before(async () => {
  set = await startSentinelSet();
});
after(async () => {
  benches.forEach((b) => b.remove());
  await set?.stop();
});

function sentinelBench(common: Record<string, unknown> = {}): TestBench {
  const bench = makeBench({
    // redis_queue points nowhere: with Sentinel on, only its db number and TLS options count.
    redisUrl: 'redis://127.0.0.1:1',
    common: { redis_queue_sentinel_enabled: 1, redis_queue_sentinels: set.sentinels, redis_queue_master_service: MASTER_NAME, ...common },
  });
  benches.push(bench);
  return bench;
}

describe('Redis Sentinel', () => {
  it('refuses Sentinel on without Sentinels or without a master name, naming the key', async () => {
    for (const [missing, common] of [
      ['redis_queue_sentinels', { redis_queue_sentinels: undefined }],
      ['redis_queue_master_service', { redis_queue_master_service: undefined }],
    ] as const) {
      const bench = sentinelBench(common);
      await assert.rejects(createRedis(loadBenchConfig(bench.path).settings, { role: 'producer' }), (err: BenchError) => {
        assert.equal(err.code, 'ERR_CONFIG_INVALID');
        assert.match(err.message, new RegExp(missing));
        return true;
      });
    }
  });

  it('a master SIGKILLed mid-drain: the Sentinels promote the replica and every job still ends finished', { timeout: 180_000 }, async () => {
    const bench = sentinelBench({ worker_lease_ttl: 3, job_crash_limit: 100, max_queued_jobs: 10_000 });
    const file = path.join(os.tmpdir(), `bw-sentinel-${process.pid}-${Date.now()}`);
    const client = await BenchClient.open({ benchPath: bench.path });
    const ids = (await client.enqueueMany('testapp.tasks.chaos', Array.from({ length: 3000 }, (_, i) => ({ file, ms: 2 + (i % 5) })), { site: 'site1.test' })) as string[];
    await client.close();
    // Every accepted job is on the replica before the chaos: the loss measured is the drain's, not the enqueue's.
    assert.equal(await set.master.client.call('WAIT', '1', '5000'), 1);

    const keys = queueKeys(bench.benchId, 'default');
    const worker = startSupervisor(bench, { queues: ['default'], numWorkers: 2, concurrency: 4 });
    let promoted: Redis | undefined;
    try {
      await waitFor(async () => (await set.master.client.zcard(keys.finished)) >= 600, { what: 'a fifth of the jobs to finish', timeoutMs: 60_000 });
      const killedAt = Date.now();
      await set.master.down('SIGKILL');
      await waitFor(async () => (await set.masterPort()) === set.replica.port, { what: 'the Sentinels to promote the replica', timeoutMs: 30_000 });
      console.log(`sentinel: replica promoted ${Date.now() - killedAt} ms after the master's SIGKILL`);
      promoted = set.replica.client;
      const finished = () => (promoted as Redis).zcard(keys.finished);
      await waitFor(async () => (await finished()) === ids.length, { what: 'every job to finish on the new master', timeoutMs: 120_000, intervalMs: 250 });
      console.log(`sentinel: every job finished ${Date.now() - killedAt} ms after the master's SIGKILL`);
    } finally {
      await worker.stop();
    }

    const redis = promoted as Redis;
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hget(keys.job(id), 'status');
    const statuses = ((await pipeline.exec()) ?? []).map(([, v]) => v as string | null);
    const runs = new Map<string, number>();
    for (const line of existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []) {
      const id = line.split(' ')[0] as string;
      runs.set(id, (runs.get(id) ?? 0) + 1);
    }
    rmSync(file, { force: true });
    const twice = [...runs.values()].filter((n) => n > 1).length;
    console.log(`sentinel: ${ids.length} jobs, ${runs.size} ran, ${twice} ran more than once (at-least-once across the failover)`);
    assert.equal(statuses.filter((s) => s !== 'finished').length, 0, 'every job is finished on the new master');
    assert.equal(runs.size, ids.length, 'every job ran');
    assert.equal(await redis.zcard(keys.active), 0, 'nothing left in flight');
    assert.equal(await queuedCount(redis, bench.benchId, 'default'), 0, 'nothing left queued');
  });
});
