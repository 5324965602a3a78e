// The worker through Redis outages: a Redis restart (AOF on) in the middle of a run loses no
// accepted job and is logged once per connection, not once per reconnect attempt; a connection
// that silently stops answering (a partition) is detected and replaced, and so is a connection
// attempt that the partition swallows mid-handshake; an app's client whose connection gave up
// reconnecting during an outage connects again on its next call.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { loadBenchConfig } from '../../src/config/load.ts';
import type { BenchError } from '../../src/errors.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { BenchClient } from '../../src/client.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { FaultProxy } from '../helpers/fault-proxy.ts';
import { capturingSupervisor, readJob, waitForStatus } from '../helpers/jobs.ts';
import { queuedCount } from '../helpers/queued.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const benches: TestBench[] = [];
after(() => benches.forEach((b) => b.remove()));

/** A worker whose log lines are kept in memory for assertions. */
describe('Redis outages', () => {
  it('a server that accepts connections but never answers fails the connect with a clear error, not a hang', async () => {
    // Keep every accepted socket to destroy it at the end: a socket nobody reads never sees the
    // client's FIN, and an open one keeps this test file's process alive after its last test.
    const accepted = new Set<net.Socket>();
    const silent = net.createServer((socket) => void accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const bench = makeBench({ redisUrl: `redis://127.0.0.1:${port}` });
    benches.push(bench);
    try {
      const startedAt = Date.now();
      await assert.rejects(createRedis(loadBenchConfig(bench.path).settings, { role: 'worker', connectTimeoutMs: 500 }), (err: BenchError) => {
        assert.equal(err.code, 'ERR_REDIS_UNAVAILABLE');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}.*no answer to the connection handshake within 500 ms`));
        return true;
      });
      assert.ok(Date.now() - startedAt < 5000, 'gave up near the connect timeout');
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a Redis restart mid-run with AOF loses no accepted job; the outage is logged once per connection', { timeout: 90_000 }, async () => {
    const redis = await startRedis({ appendonly: true });
    const bench = makeBench({ redisUrl: redis.url, common: { worker_lease_ttl: 3 } });
    benches.push(bench);
    const client = await BenchClient.open({ benchPath: bench.path });
    try {
      const ids = await client.enqueueMany('testapp.tasks.sleep', Array.from({ length: 150 }, () => ({ ms: 10 })), { site: 'site1.test' });
      const { worker, done, lines } = capturingSupervisor(bench, { numWorkers: 2, concurrency: 2 });
      const finished = () => redis.client.zcard(queueKeys(bench.benchId, 'default').finished);
      await waitFor(async () => (await finished()) >= 20, { what: 'the run to be under way' });
      await redis.restart({ kill: true });
      await waitFor(async () => (await finished().catch(() => 0)) === ids.length, { what: 'every job finished after the restart', timeoutMs: 60_000 });
      await worker.stop();
      await done;
      const lost = lines.filter((l) => l['msg'] === 'redis connection lost, reconnecting');
      const restored = lines.filter((l) => l['msg'] === 'redis connection restored');
      assert.ok(lost.length >= 1 && lost.length <= 3, `one "lost" line per connection (3 at most), saw ${lost.length}`);
      assert.ok(restored.length >= 1);
      const k = queueKeys(bench.benchId, 'default');
      assert.equal(await queuedCount(redis.client, bench.benchId, 'default'), 0);
      assert.equal(await redis.client.zcard(k.active), 0);
    } finally {
      await client.close();
      await redis.stop();
    }
  });

  it('an idle worker stops promptly on request while Redis is down', { timeout: 60_000 }, async () => {
    const redis = await startRedis();
    const bench = makeBench({ redisUrl: redis.url });
    benches.push(bench);
    const { worker, done, lines } = capturingSupervisor(bench, { blockSeconds: 1 });
    try {
      await waitFor(() => lines.some((l) => l['msg'] === 'worker started'), { what: 'the worker to start' });
      await redis.stop();
      await waitFor(() => lines.some((l) => l['msg'] === 'redis connection lost, reconnecting'), { what: 'the outage to be noticed' });
      const stopAt = Date.now();
      await worker.stop();
      await done;
      const tookMs = Date.now() - stopAt;
      console.log(`idle worker stopped ${tookMs} ms after the request, Redis down`);
      assert.ok(tookMs < 5000, `stopping took ${tookMs} ms`);
      assert.ok(lines.some((l) => l['msg'] === 'worker stopped'));
    } finally {
      await redis.stop();
    }
  });

  it('a second stop request ends a worker with a running job while Redis is down; the job stays in flight for the reaper', { timeout: 60_000 }, async () => {
    const redis = await startRedis({ appendonly: true });
    const bench = makeBench({ redisUrl: redis.url, common: { worker_lease_ttl: 2 } });
    benches.push(bench);
    const client = await BenchClient.open({ benchPath: bench.path });
    const { worker, done, lines } = capturingSupervisor(bench, { blockSeconds: 1 });
    try {
      const id = await client.enqueue('testapp.tasks.sleep', { site: 'site1.test', kwargs: { ms: 60_000 } });
      await waitForStatus(redis.client, bench, 'default', id, 'started');
      await redis.down();
      await waitFor(() => lines.some((l) => l['msg'] === 'redis connection lost, reconnecting'), { what: 'the outage to be noticed' });
      const stopAt = Date.now();
      void worker.stop();
      await worker.stop();
      await done;
      const tookMs = Date.now() - stopAt;
      console.log(`worker with a running job stopped (cold) ${tookMs} ms after the request, Redis down`);
      assert.ok(tookMs < 20_000, `stopping took ${tookMs} ms`);
      // Redis back: the job is still in flight under its lease, so a reaper will hand it back (not lost).
      await redis.up();
      const k = queueKeys(bench.benchId, 'default');
      assert.notEqual(await redis.client.zscore(k.active, id), null, 'still in flight, for the reaper');
      assert.equal((await readJob(redis.client, bench.benchId, 'default', id))?.status, 'started');
    } finally {
      await client.close();
      await redis.stop();
    }
  });

  it('replaces connections that silently stop answering and goes on running jobs', { timeout: 150_000 }, async () => {
    const redis = await startRedis();
    const proxy = new FaultProxy(redis.port);
    const proxyPort = await proxy.start();
    const bench = makeBench({ redisUrl: `redis://127.0.0.1:${proxyPort}` });
    benches.push(bench);
    const direct = makeBench({ redisUrl: redis.url });
    benches.push(direct);
    direct.writeCommon({ bench_id: bench.benchId });
    const client = await BenchClient.open({ benchPath: direct.path });
    try {
      const { worker, done, lines } = capturingSupervisor(bench, { blockSeconds: 1 });
      try {
        const first = await client.enqueue('testapp.tasks.echo', { site: 'site1.test' });
        await waitForStatus(redis.client, bench, 'default', first, 'finished');
        // The partition also swallows new connections for a while, so the worker's first attempt
        // to replace its hung blocking connection stalls in the handshake and must be given up too.
        proxy.stallNew = true;
        proxy.stallExisting();
        const stalledAt = Date.now();
        const second = await client.enqueue('testapp.tasks.echo', { site: 'site1.test' });
        // Which connection notices first depends on where the worker was when the network froze:
        // the blocking wait's watchdog, or the socket timeout of a claim in flight.
        const noticed = () =>
          lines.some((l) => l['msg'] === 'blocking wait failed; replacing its connection' || l['msg'] === 'redis connection lost, reconnecting');
        await waitFor(noticed, { what: 'the hung connection to be noticed', timeoutMs: 30_000 });
        await waitFor(() => proxy.stalledAccepts > 0, { what: 'a reconnect attempt to run into the partition', timeoutMs: 30_000 });
        proxy.stallNew = false;
        await waitForStatus(redis.client, bench, 'default', second, 'finished', 90_000);
        console.log(`job enqueued during a silent partition ran after ${Date.now() - stalledAt} ms`);
        assert.ok(noticed(), 'the hung connection was noticed');
      } catch (err) {
        console.log(`worker log before the failure:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
        throw err;
      } finally {
        await worker.stop();
        await done;
      }
    } finally {
      await client.close();
      await proxy.close();
      await redis.stop();
    }
  });

  it("an app's client whose connection gave up during an outage connects again on its next call, calls made at once sharing it", { timeout: 30_000 }, async () => {
    const redis = await startRedis();
    const proxy = new FaultProxy(redis.port);
    const bench = makeBench({ redisUrl: `redis://127.0.0.1:${await proxy.start()}` });
    benches.push(bench);
    const client = await BenchClient.open({ benchPath: bench.path });
    try {
      const first = await client.connection();
      proxy.refuseNew = true;
      proxy.cutExisting();
      const cutAt = Date.now();
      await waitFor(() => first.status === 'end', { what: 'the producer connection to give up reconnecting' });
      console.log(`the producer connection gave up ${Date.now() - cutAt} ms after the cut`);
      // Redis still unreachable: each call tries a new connection, and says so clearly.
      for (let n = 0; n < 2; n++) await assert.rejects(client.getJob('site1.test', 'some-job'), { code: 'ERR_REDIS_UNAVAILABLE' });
      proxy.refuseNew = false;
      const [a, b] = await Promise.all([client.connection(), client.connection()]);
      assert.equal(a, b, 'calls made at once share one new connection');
      assert.notEqual(a, first);
      assert.equal(await client.getJob('site1.test', 'some-job'), undefined);
      assert.equal(first.status, 'end', 'the old connection stays closed');
      assert.equal(proxy.connections, 1, 'one connection open through the proxy');
    } finally {
      await client.close();
      await proxy.close();
      await redis.stop();
    }
  });
});
