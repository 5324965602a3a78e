// How many acknowledged enqueues a partitioned Sentinel failover loses. A FaultProxy in front of the
// master is the only way the replica and the Sentinels reach it; the producer (a BenchClient, through
// the same proxy) is on the master's side. The proxy freezes the replica's and the Sentinels'
// connections (picked by process), and new ones, while the producer's goes on; the Sentinels promote the replica, and the producer's failover detector moves it there. Meanwhile the
// cut-off master acknowledged enqueues that it never replicated: after the heal the Sentinels make it a
// replica of the new master and those jobs are gone. The test prints how many (timing-dependent) and
// asserts only that the loss stays inside that window. Run with Redis' defaults and with
// min-replicas-to-write 1 / min-replicas-max-lag 1 on the master.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BenchClient } from '../../src/client.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { makeBench } from '../helpers/bench.ts';
import { FaultProxy, localPortsOf } from '../helpers/fault-proxy.ts';
import { MASTER_NAME, startSentinelSet } from '../helpers/sentinel.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** One acknowledged enqueue: its id, when the ack came, and the port the producer's connection was on. */
interface Ack {
  id: string;
  at: number;
  port: number | undefined;
}

interface Producer {
  acks: Ack[];
  refusals: string[];
  /** Enqueue one job and record its ack (or its refusal). */
  produceOne(): Promise<void>;
}

function producer(client: BenchClient, redis: Redis): Producer {
  const acks: Ack[] = [];
  const refusals: string[] = [];
  return {
    acks,
    refusals,
    async produceOne() {
      try {
        const id = await client.enqueue('testapp.tasks.echo', { site: 'site1.test', kwargs: { n: acks.length } });
        acks.push({ id, at: Date.now(), port: redis.stream.remotePort });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        refusals.push(`${typeof code === 'string' ? code : (err as Error).name}: ${(err as Error).message}`);
      }
    },
  };
}

async function measurePartition(label: string, masterConfig: Record<string, string>): Promise<void> {
  let proxy: FaultProxy | undefined;
  const set = await startSentinelSet({
    masterAddressFor: (port) => {
      proxy = new FaultProxy(port);
      return proxy.start();
    },
  });
  const cut = proxy as FaultProxy;
  const bench = makeBench({
    // Only the Sentinels say where the master is: at the proxy's port.
    redisUrl: 'redis://127.0.0.1:1',
    common: { redis_queue_sentinel_enabled: 1, redis_queue_sentinels: set.sentinels, redis_queue_master_service: MASTER_NAME, max_queued_jobs: 100_000 },
  });
  const client = await BenchClient.open({ benchPath: bench.path, verifyMethod: false });
  const redis = await client.connection();
  try {
    assert.ok(redis instanceof Redis, 'through Sentinel, the connection is to one server');
    for (const [name, value] of Object.entries(masterConfig)) await set.master.client.config('SET', name, value);
    assert.equal(redis.stream.remotePort, cut.port, 'the producer reaches the master through the proxy, as the Sentinels name it');
    const { acks, refusals, produceOne } = producer(client, redis);
    for (let i = 0; i < 100; i++) {
      await produceOne();
      await delay(5);
    }
    // Every ack so far is on the replica: a loss can only come from acks after the partition.
    assert.equal(await set.master.client.call('WAIT', '1', '5000'), 1, 'the replica has every job enqueued before the partition');
    const before = acks.length;

    // The replica's and the Sentinels' connections to the master, as they are when asked.
    const cutOff = () => localPortsOf([set.replica.process.pid ?? -1, ...set.sentinelPids]);
    const partitionAt = Date.now();
    cut.stallNew = true;
    cut.stallExisting(cutOff());
    let producing = true;
    const loop = (async () => {
      while (producing) {
        await produceOne();
        await delay(5);
      }
    })();
    try {
      await waitFor(async () => (await set.masterPort()) === set.replica.port, { what: 'the Sentinels to promote the replica', timeoutMs: 20_000, intervalMs: 50 });
      const switchMs = Date.now() - partitionAt;
      const onNew = () => acks.filter((a) => a.port === set.replica.port);
      await waitFor(() => onNew().length >= 50, { what: 'the producer to write 50 jobs to the new master', timeoutMs: 30_000 });
      const windowMs = (onNew()[0] as Ack).at - partitionAt;
      producing = false;
      await loop;
      const healAt = Date.now();
      cut.stallNew = false;
      cut.cutExisting(cutOff());
      const demoted = async () => {
        const info = await set.master.client.info('replication');
        return /role:slave/.test(info) && info.includes(`master_port:${set.replica.port}`) && /master_link_status:up/.test(info);
      };
      await waitFor(demoted, { what: 'the Sentinels to make the old master a replica of the new one', timeoutMs: 40_000, intervalMs: 100 });
      const demotedMs = Date.now() - healAt;

      const keys = queueKeys(bench.benchId, 'default');
      const pipeline = set.replica.client.pipeline();
      for (const { id } of acks) pipeline.exists(keys.job(id));
      const exists = ((await pipeline.exec()) ?? []).map(([, n]) => n === 1);
      const lost = acks.filter((_, i) => !exists[i]);
      const ackedByCutMaster = acks.slice(before).filter((a) => a.port === cut.port);
      console.log(
        `sentinel partition (${label}): ${acks.length} acked (${before} before the partition), ${lost.length} lost; ` +
          `the cut-off master acked ${ackedByCutMaster.length} after the partition, the last ${ackedByCutMaster.length ? (ackedByCutMaster.at(-1) as Ack).at - partitionAt : 0} ms in; ` +
          `${refusals.length} refused${refusals.length ? ` (first: ${(refusals[0] as string).slice(0, 90)})` : ''}; ` +
          `replica promoted at ${switchMs} ms, producer's first write on it at ${windowMs} ms; old master demoted ${demotedMs} ms after the heal`,
      );
      assert.ok(acks.length > before && onNew().length > 0, 'enqueues were acknowledged on both sides of the failover');
      assert.notEqual(await set.masterPort(), cut.port, 'the Sentinels name a new master');
      const outsideWindow = lost.filter((a) => a.port !== cut.port || a.at < partitionAt);
      assert.deepEqual(outsideWindow, [], 'only jobs the cut-off master acknowledged after the partition are lost');
    } finally {
      producing = false;
      await loop;
    }
  } finally {
    await client.close();
    // close() QUITs, which leaves ioredis' failover detector subscribed to the Sentinels (it retries them
    // after set.stop(), with "Unhandled error event"s, and keeps the process alive): disconnect() ends it.
    redis.disconnect();
    await cut.close();
    await set.stop();
    bench.remove();
  }
}

describe('Redis Sentinel: a partitioned master', () => {
  it('with Redis defaults: loses only what the cut-off master acknowledged before the producer moved', { timeout: 90_000 }, async () => {
    await measurePartition('defaults', {});
  });

  it('with min-replicas-to-write 1, min-replicas-max-lag 1: the same bound; the master refuses enqueues once its replica lags', { timeout: 90_000 }, async () => {
    await measurePartition('min-replicas-to-write 1, max-lag 1', { 'min-replicas-to-write': '1', 'min-replicas-max-lag': '1' });
  });
});
