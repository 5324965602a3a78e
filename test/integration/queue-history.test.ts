// The per-minute history of ended jobs (fetch.lua through includes/history.lua, read by
// monitor/history.ts): jobs a real worker finishes, fails (a scheduled retry included) and stops are
// counted in the minute their end was recorded; each day's hash expires dashboard_history_days after its
// day; a job abandoned past the crash limit counts as failed; readHistory reads a range across midnight.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { queueKeys } from '../../src/redis/keys.ts';
import { readHistory } from '../../src/monitor/history.ts';
import { ScriptCode } from '../../src/redis/codes.ts';
import { defineScripts } from '../../src/redis/scripts.ts';
import { Fetcher } from '../../src/worker/fetcher.ts';
import { Ownership } from '../../src/worker/ownership.ts';
import { readJob, startSupervisor, stopped, waitForStatus } from '../helpers/jobs.ts';
import { holders, tempFile } from '../helpers/monitor.ts';
import { useBenchSuite } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SITE = 'site1.test';
const HISTORY_DAYS = 3;
const MS_PER_DAY = 86_400_000;
const suite = useBenchSuite({ common: { dashboard_history_days: HISTORY_DAYS } });

/** Redis's clock (ms): the counters are stamped with it. */
async function redisNow(): Promise<number> {
  const [s, us] = await suite.redis.client.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** Every counter of `queue` in the days from `fromMs` to `toMs`, as "<minute ms>:<outcome>" -> count. */
async function counters(queue: string, fromMs: number, toMs: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let day = Math.floor(fromMs / MS_PER_DAY); day <= Math.floor(toMs / MS_PER_DAY); day++) {
    const hash = await suite.redis.client.hgetall(queueKeys(suite.bench.benchId, queue).history(day));
    for (const [field, value] of Object.entries(hash)) {
      const [minute, outcome] = field.split(':');
      out.set(`${day * MS_PER_DAY + Number(minute) * 60_000}:${outcome}`, Number(value));
    }
  }
  return out;
}

const minuteOf = (ms: number) => Math.floor(ms / 60_000) * 60_000;

describe('per-minute history of ended jobs', () => {
  it('counts what a real worker finished, failed (retries too) and stopped, in the minute each end was recorded, and sets the expiry', { timeout: 60_000 }, async () => {
    const { client, redis, bench } = suite;
    const from = await redisNow();
    const finished = await client.enqueueMany('testapp.tasks.echo', Array.from({ length: 20 }, (_, i) => ({ i })), { site: SITE });
    const failed = await client.enqueueMany('testapp.tasks.fail', [{ message: 'a' }, { message: 'b' }, { message: 'c' }], { site: SITE });
    let held = '';
    const retried = await client.enqueue('testapp.tasks.fail', { site: SITE, kwargs: { message: 'again' }, retry: { max: 1, intervals: [0.2], jitter: false } });
    // One slot: jobs failing at once contend for the site's SQLite error log (see the report on that).
    const worker = startSupervisor(bench, { queues: ['default'], concurrency: 1 });
    try {
      for (const id of finished) await waitForStatus(redis.client, bench, 'default', id, 'finished');
      for (const id of [...failed, retried]) await waitForStatus(redis.client, bench, 'default', id, 'failed');
      const file = tempFile('hold');
      held = await client.enqueue('testapp.tasks.hold', { site: SITE, kwargs: { file, ms: 60_000 } });
      await waitFor(() => holders(file).some((h) => h.id === held), { what: 'the hold job to run' });
      assert.equal((await client.stopJob(SITE, held)).status, 'stopped');
    } finally {
      await stopped(worker);
    }
    const to = await redisNow();

    // What each job's record says: the minute its end was recorded.
    const expected = new Map<string, number>();
    const endedMinute = async (id: string) => minuteOf((await readJob(redis.client, bench.benchId, 'default', id))?.endedAt ?? 0);
    const add = (key: string) => expected.set(key, (expected.get(key) ?? 0) + 1);
    for (const id of finished) add(`${await endedMinute(id)}:f`);
    for (const id of [...failed, retried]) add(`${await endedMinute(id)}:x`);
    add(`${await endedMinute(held)}:s`);
    const got = await counters('default', from, to);
    for (const [key, n] of got) {
      const minute = Number(key.split(':')[0]);
      assert.ok(minute >= minuteOf(from) && minute <= minuteOf(to), `counter ${key} outside the run`);
      // Failures: the scheduled retry's first failure is counted too, in its own minute (no record keeps it).
      if (key.endsWith(':x')) assert.ok(n >= (expected.get(key) ?? 0), `${key}: ${n} counted`);
      else assert.equal(n, expected.get(key), `${key}: ${JSON.stringify([...got])}`);
    }
    for (const [key, n] of expected) assert.ok((got.get(key) ?? 0) >= n, `${key} not counted`);
    const total = (outcome: string) => [...got].filter(([key]) => key.endsWith(`:${outcome}`)).reduce((sum, [, n]) => sum + n, 0);
    assert.deepEqual([total('f'), total('x'), total('s')], [20, 3 + 2, 1], 'the retried job failed twice: once retried, once for good');
    console.log(`history: ${JSON.stringify(Object.fromEntries(got))}`);

    const points = await readHistory(redis.client, bench.benchId, 'default', from, to);
    assert.equal(points[0]?.minute, minuteOf(from));
    assert.equal(points.at(-1)?.minute, minuteOf(to));
    const sum = (name: 'finished' | 'failed' | 'stopped') => points.reduce((s, p) => s + p[name], 0);
    assert.deepEqual([sum('finished'), sum('failed'), sum('stopped')], [20, 5, 1]);

    const day = Math.floor(to / MS_PER_DAY);
    const expiresAt = await redis.client.pexpiretime(queueKeys(bench.benchId, 'default').history(day));
    assert.equal(expiresAt, (day + 1 + HISTORY_DAYS) * MS_PER_DAY, 'kept dashboard_history_days after its day');
  });

  it('a job abandoned past the crash limit counts as failed; without a history hash yet, the default keep applies', async () => {
    const { client, redis, bench } = suite;
    const owner = 'host.9.abcdef';
    const scripted = new Redis(redis.port, '127.0.0.1');
    defineScripts(scripted);
    after(() => scripted.disconnect());
    const ownership = new Ownership(scripted, bench.benchId, 'supervisor', 100);
    await ownership.register('short', [owner], 30_000);
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'short' });
    const fetcher = new Fetcher(scripted, bench.benchId, owner, 30_000, 100);
    const { claimed } = await fetcher.fetch(['short'], [], 1, 'abandon.1');
    assert.equal(claimed[0]?.record.id, id);
    const now = await redisNow();
    assert.deepEqual(await fetcher.release('short', [{ id, token: claimed[0]?.token ?? '' }], 'crash', 0, 'test'), [ScriptCode.ABANDONED]);
    const points = await readHistory(redis.client, bench.benchId, 'short', now, await redisNow());
    assert.equal(points.reduce((s, p) => s + p.failed, 0), 1);
    const day = Math.floor(now / MS_PER_DAY);
    assert.equal(await redis.client.pexpiretime(queueKeys(bench.benchId, 'short').history(day)), (day + 1 + 7) * MS_PER_DAY);
  });

  it('readHistory gives every minute of a range across midnight, zeros included, from the two day hashes', async () => {
    const { redis, bench } = suite;
    const k = queueKeys(bench.benchId, 'long');
    const day = 20_000;
    await redis.client.hset(k.history(day), '1439:f', '4', '1439:s', '1', '1438:x', '2', '10:f', '99');
    await redis.client.hset(k.history(day + 1), '0:f', '3', '0:x', '1', '2:s', '5', '600:f', '7');
    const midnight = (day + 1) * MS_PER_DAY;
    const short = await readHistory(redis.client, bench.benchId, 'long', midnight - 2 * 60_000, midnight + 2 * 60_000 + 59_999);
    assert.deepEqual(short.map((p) => [(p.minute - midnight) / 60_000, p.finished, p.failed, p.stopped]), [
      [-2, 0, 2, 0],
      [-1, 4, 0, 1],
      [0, 3, 1, 0],
      [1, 0, 0, 0],
      [2, 0, 0, 5],
    ]);
    // A range long enough for whole-hash reads: only its own minutes are counted.
    const long = await readHistory(redis.client, bench.benchId, 'long', midnight - 600 * 60_000, midnight + 599 * 60_000);
    assert.equal(long.length, 1200);
    assert.deepEqual([long.reduce((s, p) => s + p.finished, 0), long.reduce((s, p) => s + p.failed, 0), long.reduce((s, p) => s + p.stopped, 0)], [7, 3, 6]);
    assert.deepEqual(await readHistory(redis.client, bench.benchId, 'long', midnight, midnight - 1), []);
  });
});
