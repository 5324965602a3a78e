// Pausing a queue end to end (monitor/pause.ts, fetch.lua's claim skip): a real worker claims nothing from
// a paused queue while it serves its other queues; jobs running on it end, its due scheduled jobs are
// promoted; with nothing claimable the worker blocks (no spin); a resume wakes it well before its
// blocking wait runs out. Then the same protocol through an ioredis Cluster client on a one-node cluster
// with strict key checks: the claim goes queue by queue, and the pause and history keys stay in their
// queue's slot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { pino } from 'pino';
import { BenchClient } from '../../src/client.ts';
import { loadBenchConfig } from '../../src/config/load.ts';
import { readHistory } from '../../src/monitor/history.ts';
import { pausedQueues, pauseQueue, resumeQueue } from '../../src/monitor/pause.ts';
import { ScriptCode } from '../../src/redis/codes.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { loadScriptSources } from '../../src/redis/scripts.ts';
import { Fetcher } from '../../src/worker/fetcher.ts';
import { Ownership } from '../../src/worker/ownership.ts';
import { makeBench } from '../helpers/bench.ts';
import { readJob, startSupervisor, stopped, waitForStatus } from '../helpers/jobs.ts';
import { holders, tempFile } from '../helpers/monitor.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { useBenchSuite } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SITE = 'site1.test';
const suite = useBenchSuite();

/** Calls of `command` Redis has run so far (INFO commandstats). */
async function commandCalls(command: string): Promise<number> {
  const info = await suite.redis.client.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

describe('a paused queue', () => {
  it('is not claimed from while the other queues are served; running jobs end, due jobs are promoted; a resume wakes the blocked worker', { timeout: 60_000 }, async () => {
    const { redis, bench } = suite;
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const client = await BenchClient.open({ benchPath: bench.path, log });
    // A blocking wait of 30 s: a job run within seconds of the resume was woken by the resume's marker.
    const worker = startSupervisor(bench, { queues: ['short', 'default'], concurrency: 2, blockSeconds: 30 });
    try {
      await worker.ready();
      const file = tempFile('hold');
      const running = await client.enqueue('testapp.tasks.hold', { site: SITE, kwargs: { file, ms: 1500 } });
      await waitFor(() => holders(file).some((h) => h.id === running), { what: 'the hold job to run' });
      assert.deepEqual(await client.pauseQueue('default', 'tester'), { queue: 'default', paused: true, changed: true });
      assert.equal(await client.isQueuePaused('default'), true);
      const waiting = await client.enqueueMany('testapp.tasks.echo', [{}, {}, {}, {}, {}], { site: SITE });
      const scheduled = await client.enqueue('testapp.tasks.echo', { site: SITE, inSeconds: 1 });
      const served = await client.enqueueMany('testapp.tasks.echo', [{}, {}, {}], { site: SITE, queue: 'short' });

      for (const id of served) await waitForStatus(redis.client, bench, 'short', id, 'finished');
      await waitForStatus(redis.client, bench, 'default', running, 'finished');
      await waitForStatus(redis.client, bench, 'default', scheduled, 'queued');
      // Nothing claimable now: the worker blocks on the markers instead of calling fetch in a loop.
      const callsBefore = await commandCalls('evalsha');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const quietCalls = (await commandCalls('evalsha')) - callsBefore;
      console.log(`paused: script calls in 1.5 s with every listened queue paused or empty: ${quietCalls}`);
      assert.ok(quietCalls <= 3, `the worker spins on a paused queue: ${quietCalls} script calls in 1.5 s`);
      for (const id of [...waiting, scheduled]) assert.equal((await readJob(redis.client, bench.benchId, 'default', id))?.status, 'queued', `${id} was claimed from a paused queue`);

      const resumedAt = Date.now();
      assert.deepEqual(await client.resumeQueue('default', 'tester'), { queue: 'default', paused: false, changed: true });
      for (const id of [...waiting, scheduled]) await waitForStatus(redis.client, bench, 'default', id, 'finished', 10_000);
      console.log(`paused: the queue's 6 jobs finished ${Date.now() - resumedAt} ms after the resume (blocking wait 30 s)`);
      assert.equal(await client.isQueuePaused('default'), false);
    } finally {
      await stopped(worker);
      await client.close();
    }
    const logged = lines.filter((l) => l['queue'] === 'default').map((l) => [l['msg'], l['by'], l['changed']]);
    assert.deepEqual(logged, [['queue paused', 'tester', true], ['queue resumed', 'tester', true]]);
  });

  it('a second pause or resume changes nothing and says so; an unknown queue is refused before Redis is touched', async () => {
    const { client, redis, bench } = suite;
    assert.equal((await client.pauseQueue('long')).changed, true);
    assert.equal((await client.pauseQueue('long')).changed, false);
    assert.equal(await redis.client.get(queueKeys(bench.benchId, 'long').paused), '1');
    assert.equal((await client.resumeQueue('long')).changed, true);
    assert.equal((await client.resumeQueue('long')).changed, false);
    const keys = await redis.client.dbsize();
    for (const call of [() => client.pauseQueue('nope'), () => client.resumeQueue('nope'), () => client.isQueuePaused('nope')]) {
      await assert.rejects(call(), (err: { code?: string; message?: string }) => err.code === 'ERR_QUEUE_UNKNOWN' && /queue should be one of short, default, long/.test(err.message ?? ''));
    }
    assert.equal(await redis.client.dbsize(), keys);
  });
});

describe('on a Redis Cluster client (one node, strict key checks)', () => {
  let node: TestRedis;
  let cluster: Cluster;
  before(async () => {
    // A lone node does not know its own address unless told (CLUSTER SLOTS would name it "").
    node = await startRedis({ cluster: true, extraArgs: ['--cluster-announce-ip', '127.0.0.1'] });
    cluster = new Cluster([{ host: '127.0.0.1', port: node.port }]);
    // The shebang turns on Redis 7's strict key checks: a script may touch only its declared keys' slot.
    for (const source of loadScriptSources()) {
      cluster.defineCommand(source.name, { lua: `#!lua\n${source.lua}`, ...(source.numberOfKeys === undefined ? {} : { numberOfKeys: source.numberOfKeys }) });
    }
  });
  after(async () => {
    cluster?.disconnect();
    await node?.stop();
  });

  it('the claim passes over the paused queue call by call, counts what it ended, and claims it again after the resume', { timeout: 30_000 }, async () => {
    const bench = makeBench({ redisUrl: node.url });
    const client = await BenchClient.open({ benchPath: bench.path });
    try {
      const ctx = { redis: cluster, bench: loadBenchConfig(bench.path) };
      const owner = 'host.7.cccccc';
      const ownership = new Ownership(cluster, bench.benchId, 'supervisor', 100);
      for (const queue of ['short', 'default']) {
        await ownership.register(queue, [owner], 30_000);
        await client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE, queue });
      }
      await pauseQueue(ctx, 'short', 'tester');
      assert.deepEqual(await pausedQueues(cluster, ctx.bench), ['short']);
      const fetcher = new Fetcher(cluster, bench.benchId, owner, 30_000, 100);
      const first = await fetcher.fetch(['short', 'default'], [], 4, 'c.1');
      assert.deepEqual(first.claimed.map((c) => c.record.queue), ['default', 'default']);
      const ended = first.claimed.map((c) => ({ queue: 'default', id: c.record.id, token: c.token, ending: { kind: 'finished' as const, result: '1' }, ttl: 600 }));
      const second = await fetcher.fetch(['short', 'default'], ended, 4, 'c.2');
      assert.deepEqual([second.endCodes, second.claimed.length], [[ScriptCode.OK, ScriptCode.OK], 0]);
      const points = await readHistory(cluster, bench.benchId, 'default', Date.now() - 120_000, Date.now() + 60_000);
      assert.equal(points.reduce((s, p) => s + p.finished, 0), 2);

      await resumeQueue(ctx, 'short', 'tester');
      assert.equal(await cluster.zscore(queueKeys(bench.benchId, 'short').marker, '0'), '0', 'the resume set the wake-up marker');
      assert.deepEqual(await pausedQueues(cluster, ctx.bench), []);
      const third = await fetcher.fetch(['short', 'default'], [], 4, 'c.3');
      assert.deepEqual(third.claimed.map((c) => c.record.queue), ['short', 'short']);
    } finally {
      await client.close();
      bench.remove();
    }
  });
});
