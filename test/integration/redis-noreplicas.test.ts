// A master that refuses writes because too few replicas are in sync (min-replicas-to-write) answers
// NOREPLICAS: app code gets ERR_REDIS_NOREPLICAS, a code it can match on, saying nothing was written.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import type { BenchError } from '../../src/errors.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { queuedCount } from '../helpers/queued.ts';
import { startRedis } from '../helpers/redis-server.ts';

const benches: TestBench[] = [];
after(() => benches.forEach((b) => b.remove()));

describe('min-replicas-to-write', () => {
  it('an enqueue refused with NOREPLICAS is ERR_REDIS_NOREPLICAS, and nothing is queued', async () => {
    const redis = await startRedis({ extraArgs: ['--min-replicas-to-write', '1', '--min-replicas-max-lag', '10'] });
    const bench = makeBench({ redisUrl: redis.url });
    benches.push(bench);
    const client = await BenchClient.open({ benchPath: bench.path });
    try {
      await assert.rejects(client.enqueue('testapp.tasks.echo', { site: 'site1.test' }), (err: BenchError) => {
        assert.equal(err.code, 'ERR_REDIS_NOREPLICAS');
        assert.match(err.message, /min-replicas-to-write.*nothing was written/);
        return true;
      });
      await assert.rejects(client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: 'site1.test' }), (err: BenchError) => err.code === 'ERR_REDIS_NOREPLICAS');
      assert.equal(await queuedCount(redis.client, bench.benchId, 'default'), 0);
    } finally {
      await client.close();
      await redis.stop();
    }
  });
});
