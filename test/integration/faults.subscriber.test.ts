// Subscriber connections through a silent network stall (test/helpers/fault-proxy.ts): a connection in
// pub/sub mode sends nothing of its own, so one that a stall left dead would go unnoticed for ever and its
// process would never hear a message again. Here every connection of this process (the supervisor's and
// a waiting client's) freezes, and new ones too, for longer than a subscriber takes to notice; once the
// network heals, stop-job must reach the supervisor again and the client's waitForJob must see the job end.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { isBenchError } from '../../src/errors.ts';
import { SUBSCRIBER_DEADLINE_MS, SUBSCRIBER_PING_MS } from '../../src/redis/keep-alive.ts';
import { benchKeys } from '../../src/redis/keys.ts';
import { localPortsOf } from '../helpers/fault-proxy.ts';
import { faultyBench } from '../helpers/faulty-bench.ts';
import { capturingSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { within } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SITE = 'site1.test';
/** Longer than a subscriber takes to notice a dead connection (a PING, then its deadline). */
const STALL_MS = SUBSCRIBER_PING_MS + SUBSCRIBER_DEADLINE_MS + 2000;

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function subscribers(redis: { pubsub(...args: string[]): Promise<unknown> }, channel: string): Promise<number> {
  const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
  return count;
}

describe('subscribers through a silent stall', () => {
  it('stop-job reaches the supervisor and waitForJob sees the job end once the network heals', { timeout: 90_000 }, async () => {
    // Stamps that outlast the stall: the job must still be running, under its worker, when it heals.
    const f = await faultyBench((cleanup) => cleanups.push(cleanup), { worker_lease_ttl: 300 });
    const keys = benchKeys(f.bench.benchId);
    const { worker, done, lines } = capturingSupervisor(f.bench, { numWorkers: 1 });
    const waiter = await BenchClient.open({ benchPath: f.bench.path });
    cleanups.push(() => waiter.close());
    try {
      await waitFor(async () => (await f.redis.client.zcard(keys.workers)) >= 1 && (await subscribers(f.redis.client, keys.control)) >= 1, { what: 'the supervisor to be up and listening' });
      const id = await f.client.enqueue('testapp.tasks.sleep', { site: SITE, kwargs: { ms: 120_000 } });
      await waitForStatus(f.redis.client, f.bench, 'default', id, 'started');
      const waited = waiter.waitForJob(SITE, id, { timeout: 80 }).then(
        () => 'finished',
        (err: unknown) => err,
      );
      await waitFor(async () => (await subscribers(f.redis.client, keys.events)) >= 1, { what: "the waiter's subscription" });

      // The partition: this process's connections through the proxy (the test's own client goes direct) freeze,
      // and so does every connection made meanwhile.
      const mine = localPortsOf([process.pid]);
      assert.ok(f.proxy.count(mine) >= 4, `the supervisor's and the waiter's connections go through the proxy (${f.proxy.count(mine)})`);
      f.proxy.stallNew = true;
      f.proxy.stallExisting(mine);
      const stalledAt = Date.now();
      await delay(STALL_MS);
      f.proxy.stallNew = false;
      const healedAt = Date.now();

      // Each try publishes stop-job again: those sent before the supervisor listens again are lost.
      let tries = 0;
      const stopped = await waitFor(
        async () => {
          tries++;
          await f.client.stopJob(SITE, id, 1000).catch(() => undefined);
          const job = await f.client.getJob(SITE, id);
          return job?.status === 'started' ? undefined : job;
        },
        { what: 'stop-job to reach the supervisor again', timeoutMs: 40_000 },
      );
      const stoppedAt = Date.now();
      assert.equal(stopped.status, 'stopped');
      const outcome = await within(waited, 60_000, 'waitForJob to see the job end');
      assert.ok(isBenchError(outcome) && outcome.code === 'ERR_JOB_FAILED' && outcome.details['status'] === 'stopped', `waitForJob rejects with the stop: ${String(outcome)}`);
      const replaced = lines.filter((l) => l['msg'] === 'redis connection lost, reconnecting' && /subscriber connection/.test(JSON.stringify(l['err'])));
      console.log(
        `stall of ${STALL_MS} ms (${f.proxy.stalledAccepts} connections made during it froze too); job stopped ${stoppedAt - healedAt} ms after it healed (${tries} stop-job tries); ` +
          `waitForJob ended ${Date.now() - healedAt} ms after it healed; the supervisor's subscriber was dropped for no answer ${replaced.length} time(s)`,
      );
      assert.ok(replaced.length >= 1, "the supervisor logged its subscriber's replacement");
    } catch (err) {
      console.log(`supervisor log:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
      throw err;
    } finally {
      // Cold: a job still running is killed and handed back, so the test never waits for it.
      void worker.stop();
      await worker.stop();
      await within(done, 20_000, 'the supervisor to stop');
    }
  });
});
