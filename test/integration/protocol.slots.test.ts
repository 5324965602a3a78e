// Every script touches the keys of one queue only (one hash tag, one Redis Cluster slot), so that Redis
// Cluster support can follow: run on a one-node cluster, each script loaded with the `#!lua` shebang,
// under which Redis refuses a script that touches a key outside the slot of its declared keys. The one
// exception, until the Cluster issue splits it: a claim across several queues.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadBenchConfig } from '../../src/config/load.ts';
import { cancelJob, deleteJob, purgeJobs, requeueFailed, retryJob } from '../../src/monitor/actions.ts';
import { BenchClient } from '../../src/client.ts';
import { ScriptCode } from '../../src/redis/codes.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { loadScriptSources } from '../../src/redis/scripts.ts';
import { Fetcher } from '../../src/worker/fetcher.ts';
import { Ownership } from '../../src/worker/ownership.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { silentLog } from '../helpers/jobs.ts';
import { unqueue } from '../helpers/queued.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';


let redis: TestRedis;
let bench: TestBench;
let client: BenchClient;
let strict: Redis;
const SITE = 'site1.test';
const OWNER = 'host.1.aaaaaa';

before(async () => {
  redis = await startRedis({ cluster: true });
  bench = makeBench({ redisUrl: redis.url });
  client = await BenchClient.open({ benchPath: bench.path });
  strict = new Redis({ port: redis.port, host: '127.0.0.1' });
  // The shebang turns on Redis 7's strict key checks for scripts.
  for (const source of loadScriptSources()) {
    strict.defineCommand(source.name, { lua: `#!lua\n${source.lua}`, ...(source.numberOfKeys === undefined ? {} : { numberOfKeys: source.numberOfKeys }) });
  }
});

after(async () => {
  strict.disconnect();
  await client.close();
  await redis.stop();
  bench.remove();
});

const ctx = () => ({ redis: strict, bench: loadBenchConfig(bench.path), log: silentLog });

describe('on a Redis Cluster node, with strict key checks', () => {
  it('the worker process and supervisor scripts stay in their queue\'s slot', async () => {
    const fetcher = new Fetcher(strict, bench.benchId, OWNER, 30_000, 100);
    const ownership = new Ownership(strict, bench.benchId, 'supervisor', 100);
    await ownership.register('default', [OWNER], 30_000);
    assert.deepEqual(await ownership.renew('default', [OWNER], 30_000), []);
    const ids = await client.enqueueMany('testapp.tasks.echo', [{}, {}, {}, {}], { site: SITE });
    await client.enqueue('testapp.tasks.echo', { site: SITE, inSeconds: 60 });
    const first = await fetcher.fetch(['default'], [], 3, 'r.1', { startNow: 2 });
    assert.equal(first.claimed.length, 3);
    assert.equal((await fetcher.fetch(['default'], [], 3, 'r.1')).claimed.length, 3, 'a replay finds its claim record');
    const [a, b, c] = first.claimed;
    assert.ok(a && b && c);
    const ended = await fetcher.fetch(['default'], [
      { queue: 'default', id: a.record.id, token: a.token, ending: { kind: 'finished', result: '1' }, ttl: 600 },
      { queue: 'default', id: b.record.id, token: b.token, ending: { kind: 'failed', error: '{"message":"x"}', retryMs: 0, history: '' }, ttl: 600 },
    ], 1, 'r.2', { started: [{ queue: 'default', id: c.record.id }] });
    assert.deepEqual(ended.endCodes, [ScriptCode.OK, ScriptCode.OK]);
    assert.deepEqual(await fetcher.release('default', [{ id: c.record.id, token: c.token }], 'unstarted', 3, 'test'), [ScriptCode.OK]);
    assert.ok((await ownership.ownedJobs('default', OWNER)).length >= 1);
    assert.notEqual(await ownership.reap('default', 1000, 3), null);
    const released = await ownership.releaseOwner('default', OWNER, false, 3, 'test');
    assert.ok(released.requeued >= 1);
    assert.equal(ids.length, 4);
  });

  it('the operator actions stay in their queue\'s slot', async () => {
    const queued = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' });
    const toDelete = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' });
    assert.equal((await cancelJob(ctx(), SITE, queued)).status, 'canceled');
    assert.equal((await deleteJob(ctx(), SITE, toDelete)).id, toDelete);
    const k = queueKeys(bench.benchId, 'long');
    const failed = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' });
    // Failed by hand: off its site's lane, the queue's count and (its lane empty) the ring of sites kept right.
    assert.equal(await unqueue(redis.client, bench.benchId, 'long', failed), 1);
    await redis.client.hset(k.job(failed), 'status', 'failed', 'error', '{"message":"x"}');
    await redis.client.zadd(k.failed, Date.now(), failed);
    assert.equal((await retryJob(ctx(), SITE, failed)).status, 'queued');
    assert.equal(await requeueFailed(ctx(), { site: SITE, queue: 'long' }), 0);
    assert.ok((await purgeJobs(ctx(), SITE, { queue: 'long' })) >= 1);
  });

  it('a claim across several queues is the one script that spans slots (until Cluster support splits it)', async () => {
    const fetcher = new Fetcher(strict, bench.benchId, OWNER, 30_000, 100);
    await assert.rejects(fetcher.fetch(['short', 'default'], [], 1, 'multi.1'), /CROSSSLOT/);
  });
});
