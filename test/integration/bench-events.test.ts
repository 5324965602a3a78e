// Two benches on one Redis: each one's job lifecycle events go to its own channel bw:{<bench_id>}:events,
// so its waitForJob and its event subscribers see only its own jobs; realtime messages (from app code and
// from jobs) stay on the channel Frappe's Socket.IO server listens on: `events`, or realtime_channel.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BenchClient } from '../../src/client.ts';
import { benchKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { linkPackage } from '../helpers/databases.ts';
import { startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

interface Received {
  channel: string;
  event: string;
  room: string;
  message: Record<string, unknown>;
}

const SITE = 'site1.test';
let redis: TestRedis;
let benchA: TestBench;
let benchB: TestBench;
let clientA: BenchClient;
let clientB: BenchClient;
let subscriber: Redis;
const received: Received[] = [];

const jobEventsOf = (bench: TestBench) => benchKeys(bench.benchId).events;
const onChannel = (channel: string) => received.filter((r) => r.channel === channel);

before(async () => {
  redis = await startRedis();
  benchA = makeBench({ redisUrl: redis.url, sites: { [SITE]: {} } });
  benchB = makeBench({ redisUrl: redis.url, sites: { [SITE]: {} }, common: { realtime_channel: 'rt-b' } });
  linkPackage(benchA);
  linkPackage(benchB);
  clientA = await BenchClient.open({ benchPath: benchA.path });
  clientB = await BenchClient.open({ benchPath: benchB.path });
  subscriber = new Redis(redis.url);
  subscriber.on('message', (channel: string, text: string) => {
    const envelope = JSON.parse(text) as Omit<Received, 'channel'>;
    received.push({ channel, ...envelope });
  });
  await subscriber.subscribe('events', 'rt-b', jobEventsOf(benchA), jobEventsOf(benchB));
});

after(async () => {
  subscriber?.disconnect();
  await clientA?.close();
  await clientB?.close();
  await redis?.stop();
  benchA?.remove();
  benchB?.remove();
});

describe('two benches on one Redis', () => {
  it("each bench's job events reach only its own channel, and waitForJob waits on it", { timeout: 40_000 }, async () => {
    assert.notEqual(benchA.benchId, benchB.benchId);
    const idA = await clientA.enqueue('testapp.tasks.add', { site: SITE, kwargs: { a: 1, b: 2 } });
    const idB = await clientB.enqueue('testapp.tasks.add', { site: SITE, kwargs: { a: 10, b: 20 } });
    const waitA = clientA.waitForJob(SITE, idA, { timeout: 30 });
    const waitB = clientB.waitForJob(SITE, idB, { timeout: 30 });
    // Each client's wait subscribes to its own bench's channel, not the other's and not `events`.
    const numsub = async (channel: string) => Number(((await redis.client.pubsub('NUMSUB', channel)) as [string, number])[1]);
    await waitFor(async () => (await numsub(jobEventsOf(benchA))) === 2 && (await numsub(jobEventsOf(benchB))) === 2, { what: 'both waits to subscribe' });
    assert.equal(await numsub('events'), 1, 'only the test subscriber listens on events');

    await Promise.all([startSupervisor(benchA, { burst: true }).done, startSupervisor(benchB, { burst: true }).done]);
    assert.equal(await waitA, 3);
    assert.equal(await waitB, 30);
    await waitFor(() => onChannel(jobEventsOf(benchA)).some((r) => r.event === 'job_finished') && onChannel(jobEventsOf(benchB)).some((r) => r.event === 'job_finished'), {
      what: 'job_finished on both channels',
    });
    const jobIds = (channel: string) => new Set(onChannel(channel).map((r) => r.message['job_id']));
    assert.deepEqual(jobIds(jobEventsOf(benchA)), new Set([idA]));
    assert.deepEqual(jobIds(jobEventsOf(benchB)), new Set([idB]));
    assert.deepEqual(onChannel(jobEventsOf(benchA)).map((r) => r.event), ['job_started', 'job_finished']);
    assert.ok(!received.some((r) => (r.channel === 'events' || r.channel === 'rt-b') && r.event.startsWith('job_')), 'no job event on a realtime channel');
  });

  it('realtime messages go to `events`, or to the bench\'s realtime_channel, from app code and from jobs', { timeout: 40_000 }, async () => {
    assert.equal(await clientA.publishRealtime('from_a', { n: 1 }, { site: SITE }), 1);
    assert.equal(await clientB.publishRealtime('from_b', { n: 2 }, { site: SITE }), 1);
    const id = await clientB.enqueue('dbapp.tasks.publish', { site: SITE, kwargs: { event: 'from_b_job', message: { n: 3 } } });
    await startSupervisor(benchB, { burst: true }).done;
    await waitForStatus(redis.client, benchB, 'default', id, 'finished');
    await waitFor(() => received.some((r) => r.event === 'from_b_job'), { what: "the job's realtime message" });
    await waitFor(() => received.some((r) => r.event === 'from_a') && received.some((r) => r.event === 'from_b'), { what: 'the app messages' });
    const channelOf = (event: string) => received.filter((r) => r.event === event).map((r) => r.channel);
    assert.deepEqual(channelOf('from_a'), ['events']);
    assert.deepEqual(channelOf('from_b'), ['rt-b']);
    assert.deepEqual(channelOf('from_b_job'), ['rt-b']);
  });
});
