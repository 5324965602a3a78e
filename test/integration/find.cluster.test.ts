// The kwargs index and findJobs on a real Redis Cluster (3 masters + 3 replicas): each queue's index keys
// live under its own hash tag (the enqueue script writes them in its one slot), and a find reads the
// queues of different shards: by kwarg, id, id prefix, method and site.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { loadBenchConfig } from '../../src/config/load.ts';
import { findJobs } from '../../src/monitor/find.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { spreadBenchId, startCluster, type TestCluster } from '../helpers/cluster.ts';

const SITE = 'site1.test';
const ECHO = 'testapp.tasks.echo';
const ADD = 'testapp.tasks.add';
let cluster: TestCluster;
let bench: TestBench;
let client: BenchClient;

before(async () => {
  cluster = await startCluster();
  const benchId = await spreadBenchId(cluster, 'find', ['default', 'short']);
  bench = makeBench({ redisUrl: 'redis://127.0.0.1:1', common: { redis_queue_cluster: cluster.urls, bench_id: benchId, dashboard_index_keys: ['customer'], max_queued_jobs: 100_000 } });
  bench.benchId = benchId;
  client = await BenchClient.open({ benchPath: bench.path });
});
after(async () => {
  await client?.close();
  bench?.remove();
  await cluster?.stop();
});

it('indexes jobs of queues on different shards and finds them by kwarg, id, prefix, method and site', async () => {
  const one = await client.enqueue(ECHO, { site: SITE, kwargs: { customer: 'C1' } });
  const many = await client.enqueueMany(ECHO, Array.from({ length: 1500 }, (_, i) => ({ customer: i === 0 ? 'C1' : `X${i}` })), { site: SITE, queue: 'short' });
  const [def, short] = [queueKeys(bench.benchId, 'default'), queueKeys(bench.benchId, 'short')];
  assert.notEqual((await cluster.masterOf(def.index('customer', 'C1'))).port, (await cluster.masterOf(short.index('customer', 'C1'))).port);
  assert.equal(await cluster.client.zcard(short.index('customer', 'C1')), 1);
  const config = loadBenchConfig(bench.path);
  const byKwarg = await findJobs(cluster.client, config, 'customer=C1');
  assert.deepEqual(byKwarg.jobs.map((j) => j.id).sort(), [one, many[0]].sort());
  assert.deepEqual((await findJobs(cluster.client, config, many[700] as string)).jobs.map((j) => j.id), [many[700]]);
  const local = (many[900] as string).split('||')[1] as string;
  assert.deepEqual((await findJobs(cluster.client, config, local.slice(0, 10))).jobs.map((j) => j.id), [many[900]]);
  const adds = [await client.enqueue(ADD, { site: SITE, kwargs: { a: 1, b: 2 } }), await client.enqueue(ADD, { site: SITE, queue: 'short', kwargs: { a: 1, b: 2 } })];
  const byMethod = await findJobs(cluster.client, config, `method=${ADD}`);
  assert.deepEqual(byMethod.jobs.map((j) => j.id).sort(), adds.sort());
  assert.equal((await findJobs(cluster.client, config, `method=${ECHO}`, { limit: 500 })).jobs.length, 500);
  assert.equal((await findJobs(cluster.client, config, `site=${SITE}`, { limit: 20 })).jobs.length, 20);
});
