// The dashboard's find (src/monitor/find.ts) and the kwargs index behind it (enqueue-6.lua, queue/kwargs-index.ts):
// the index holds the configured keys only (scalar values, long ones cut), on the single and the bulk
// enqueue path, expires and trims itself, and costs an enqueue nothing without dashboard_index_keys (no
// extra argument, no index key); find answers each query kind, keeps to the caller's sites, drops ids
// whose job is gone or changed, refuses a key that is not indexed, and keeps to its limit and caps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BenchClient } from '../../src/client.ts';
import { loadBenchConfig, type BenchConfig } from '../../src/config/load.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { findJobs, type FindOptions } from '../../src/monitor/find.ts';
import { scanForJobs } from '../../src/monitor/find-scan.ts';
import { PREFIX_READ_LIMIT } from '../../src/monitor/find-prefix.ts';
import { INDEX_VALUE_MAX } from '../../src/queue/kwargs-index.ts';
import { fillJobs } from '../helpers/bulk-jobs.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';

const [A, B] = ['a.test', 'b.test'];
const ECHO = 'testapp.tasks.echo';
const ADD = 'testapp.tasks.add';
const DAY_MS = 24 * 60 * 60 * 1000;
const redis = useRedisBenches();
const clients: BenchClient[] = [];
after(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

interface Indexed {
  client: BenchClient;
  config: BenchConfig;
  benchId: string;
  find: (query: string, options?: FindOptions) => ReturnType<typeof findJobs>;
}

async function openBench(common: Record<string, unknown>): Promise<Indexed> {
  const bench = redis.newBench({ common, sites: { [A]: {}, [B]: {} } });
  const client = await BenchClient.open({ benchPath: bench.path });
  clients.push(client);
  const config = loadBenchConfig(bench.path);
  return { client, config, benchId: bench.benchId, find: (query, options) => findJobs(redis.redis.client, config, query, options) };
}

/** Wait for the next millisecond, so that two enqueues get distinct enqueue times. */
async function nextMs(): Promise<void> {
  const now = Date.now();
  await waitFor(() => Date.now() > now, { what: 'the clock to move on', intervalMs: 1 });
}

/** The index keys of a bench, by name (SCAN is fine in a test). */
async function indexKeysOf(benchId: string): Promise<string[]> {
  const found: string[] = [];
  const stream = redis.redis.client.scanStream({ match: `bw:{${benchId}:*}:index:*`, count: 1000 });
  for await (const keys of stream) found.push(...(keys as string[]));
  return found.sort();
}

describe('the kwargs index at enqueue', () => {
  let b: Indexed;
  before(async () => {
    b = await openBench({ dashboard_index_keys: ['customer', 'order', 'flag'], max_queued_jobs: 100_000 });
  });

  it('holds the configured keys with a scalar value only, scored by the enqueue time, with an expiry', async () => {
    const before = Date.now();
    const id = await b.client.enqueue(ECHO, { site: A, kwargs: { customer: 'C1', order: 7, flag: true, note: 'x', other: { customer: 'nested' } } });
    await b.client.enqueue(ECHO, { site: A, kwargs: { customer: ['C1'], order: null, flag: { a: 1 } } });
    const k = queueKeys(b.benchId, 'default');
    assert.deepEqual(await indexKeysOf(b.benchId), [k.index('customer', 'C1'), k.index('flag', 'true'), k.index('order', '7')].sort());
    const score = Number(await redis.redis.client.zscore(k.index('customer', 'C1'), id));
    assert.ok(score >= before - 1000 && score <= Date.now() + 1000, `score ${score}`);
    const ttl = await redis.redis.client.pttl(k.index('order', '7'));
    // Kept a day past the longest retention (rq_job_failure_ttl, 7 days by default), plus the refresh slack.
    assert.ok(ttl > 8 * DAY_MS && ttl <= 9 * DAY_MS, `pttl ${ttl}`);
  });

  it('cuts a long value, indexes the bulk path, and scores a delayed job by its run-at', async () => {
    const long = 'L'.repeat(INDEX_VALUE_MAX + 50);
    const k = queueKeys(b.benchId, 'default');
    const ids = await b.client.enqueueMany(ECHO, Array.from({ length: 2500 }, (_, i) => ({ customer: i % 2 === 0 ? 'BULK' : long, n: i })), { site: B });
    assert.equal(ids.length, 2500);
    assert.equal(await redis.redis.client.zcard(k.index('customer', 'BULK')), 1250);
    assert.equal(await redis.redis.client.zcard(k.index('customer', long.slice(0, INDEX_VALUE_MAX))), 1250);
    const later = await b.client.enqueueIn(3600, ECHO, { site: A, kwargs: { customer: 'LATER' } });
    const runAt = Number(await redis.redis.client.zscore(k.index('customer', 'LATER'), later));
    assert.ok(runAt > Date.now() + 3500_000, `scored ${runAt}`);
    assert.ok((await redis.redis.client.pttl(k.index('customer', 'LATER'))) > 8 * DAY_MS + 3500_000);
  });

  it('trims entries older than the retention and never shortens a key\'s expiry', async () => {
    const k = queueKeys(b.benchId, 'default');
    const key = k.index('customer', 'TRIM');
    await redis.redis.client.zadd(key, Date.now() - 9 * DAY_MS, `${A}||ancient`);
    await redis.redis.client.pexpire(key, 5000);
    // The key would expire too soon: the enqueue moves its expiry on and trims it.
    await b.client.enqueue(ECHO, { site: A, kwargs: { customer: 'TRIM' } });
    assert.equal(await redis.redis.client.zscore(key, `${A}||ancient`), null);
    assert.equal(await redis.redis.client.zcard(key), 1);
    await b.client.enqueueIn(30 * 24 * 3600, ECHO, { site: A, kwargs: { customer: 'TRIM' } });
    const long = await redis.redis.client.pttl(key);
    await b.client.enqueue(ECHO, { site: A, kwargs: { customer: 'TRIM' } });
    assert.ok((await redis.redis.client.pttl(key)) > long - 5000, 'a due-now job shortened the expiry a delayed one set');
  });

  it('costs nothing without dashboard_index_keys: no index key, no extra script argument', async () => {
    const plain = await openBench({});
    const monitor = await redis.redis.client.monitor();
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (/^eval(sha)?$/i.test(args[0] ?? '') && args[3] === queueKeys(plain.benchId, 'default').wait) seen.push(args);
    });
    try {
      await plain.client.enqueue(ECHO, { site: A, kwargs: { customer: 'C1' } });
      await plain.client.enqueueMany(ECHO, [{ customer: 'C2' }, { customer: 'C3' }], { site: A });
      await waitFor(() => seen.length >= 2, { what: 'both enqueue calls seen by MONITOR' });
    } finally {
      monitor.disconnect();
    }
    assert.equal(seen.length, 2);
    for (const args of seen) {
      // EVAL(SHA) script 6 KEYS... ARGV...: ARGV[12] is the plain count n, and the jobs follow the 2n pairs.
      const argv = args.slice(9);
      const n = Number(argv[11]);
      assert.ok(Number.isInteger(n), `ARGV[12] ${argv[11]}`);
      assert.equal((argv.length - 12 - 2 * n) % 3, 0);
    }
    assert.deepEqual(await indexKeysOf(plain.benchId), []);
  });
});

describe('findJobs', () => {
  let b: Indexed;
  const ids: Record<string, string> = {};
  before(async () => {
    b = await openBench({ dashboard_index_keys: ['customer'] });
    ids['a1'] = await b.client.enqueue(ECHO, { site: A, kwargs: { customer: 'C1', n: 1 } });
    await nextMs();
    ids['b1'] = await b.client.enqueue(ADD, { site: B, kwargs: { customer: 'C1', a: 1, b: 2 } });
    await nextMs();
    ids['a2'] = await b.client.enqueue(ECHO, { site: A, kwargs: { customer: 'C1', n: 2 }, queue: 'short' });
    ids['named'] = await b.client.enqueue(ADD, { site: A, jobId: 'order-4711', kwargs: { customer: 'C2', a: 1, b: 1 } });
  });

  it('finds by exact id: full, short with a site, short over the sites the caller sees', async () => {
    const full = await b.find(ids['a1'] as string);
    assert.equal(full.via, 'id');
    assert.deepEqual(full.jobs.map((j) => j.id), [ids['a1']]);
    assert.deepEqual((await b.find('order-4711', { site: A })).jobs.map((j) => j.id), [`${A}||order-4711`]);
    assert.deepEqual((await b.find('order-4711')).jobs.map((j) => j.id), [`${A}||order-4711`]);
    assert.deepEqual((await b.find('order-4711', { sites: [B] })).jobs, []);
    assert.deepEqual((await b.find(`${B}||${(ids['b1'] as string).split('||')[1]}`, { sites: [A] })).jobs, []);
  });

  it('finds by an id prefix, full or short', async () => {
    const short = (ids['b1'] as string).split('||')[1] as string;
    const byFull = await b.find(`${B}||${short.slice(0, 8)}`);
    assert.equal(byFull.via, 'prefix');
    assert.deepEqual(byFull.jobs.map((j) => j.id), [ids['b1']]);
    assert.deepEqual((await b.find(short.slice(0, 8))).jobs.map((j) => j.id), [ids['b1']]);
    assert.deepEqual((await b.find(short.slice(0, 8), { sites: [A] })).jobs, []);
    assert.deepEqual((await b.find('order-47')).jobs.map((j) => j.id), [`${A}||order-4711`]);
  });

  it('finds by method= and site= with a bounded read, within the caller\'s sites', async () => {
    const byMethod = await b.find(`method=${ADD}`);
    assert.equal(byMethod.via, 'scan');
    assert.equal(byMethod.partial, false);
    assert.deepEqual(byMethod.jobs.map((j) => j.id).sort(), [ids['b1'], ids['named']].sort());
    assert.deepEqual((await b.find(`method=${ADD}`, { sites: [A] })).jobs.map((j) => j.id), [ids['named']]);
    const bySite = await b.find(`site=${A}`);
    assert.deepEqual(bySite.jobs.map((j) => j.id).sort(), [ids['a1'], ids['a2'], ids['named']].sort());
    assert.deepEqual((await b.find(`site=${A}`, { sites: [B] })).jobs, []);
  });

  it('finds by an indexed kwarg over every queue, newest first, within the caller\'s sites', async () => {
    const all = await b.find('customer=C1');
    assert.equal(all.via, 'index');
    assert.deepEqual(all.jobs.map((j) => j.id), [ids['a2'], ids['b1'], ids['a1']]);
    assert.deepEqual((await b.find('customer=C1', { sites: [A] })).jobs.map((j) => j.id), [ids['a2'], ids['a1']]);
    assert.deepEqual((await b.find('customer=C1', { queue: 'short' })).jobs.map((j) => j.id), [ids['a2']]);
    assert.deepEqual((await b.find(' customer = C2 ')).jobs.map((j) => j.id), [ids['named']]);
  });

  it('drops ids whose job is gone or no longer holds the value', async () => {
    const gone = await b.client.enqueue(ECHO, { site: A, kwargs: { customer: 'STALE' } });
    const reused = await b.client.enqueue(ECHO, { site: A, jobId: 'reused', kwargs: { customer: 'STALE' } });
    await nextMs();
    const kept = await b.client.enqueue(ECHO, { site: A, kwargs: { customer: 'STALE' } });
    await b.client.deleteJob(undefined, gone);
    await b.client.deleteJob(undefined, reused);
    await b.client.enqueue(ECHO, { site: A, jobId: 'reused', kwargs: { customer: 'OTHER' } });
    assert.equal(await redis.redis.client.zcard(queueKeys(b.benchId, 'default').index('customer', 'STALE')), 3);
    assert.deepEqual((await b.find('customer=STALE')).jobs.map((j) => j.id), [kept]);
    assert.deepEqual((await b.find('customer=OTHER')).jobs.map((j) => j.id), [reused]);
  });

  it('refuses a kwargs key that is not indexed, an empty query and a limit out of range', async () => {
    await assert.rejects(b.find('note=x'), (err: { code?: string; message: string }) => err.code === 'ERR_NOT_INDEXED' && err.message.includes('dashboard_index_keys'));
    await assert.rejects(b.find('  '), { code: 'ERR_USAGE' });
    await assert.rejects(b.find('customer=C1', { limit: 501 }), { code: 'ERR_USAGE' });
    await assert.rejects(b.find('customer=C1', { limit: 0 }), { code: 'ERR_USAGE' });
  });

  it('keeps to its limit: the newest of 120 matches, and a capped read says it is partial', async () => {
    const many = await b.client.enqueueMany(ECHO, Array.from({ length: 120 }, (_, i) => ({ customer: 'MANY', n: i })), { site: B });
    const found = await b.find('customer=MANY', { limit: 30 });
    assert.equal(found.jobs.length, 30);
    assert.equal(found.partial, false);
    assert.equal((await b.find('customer=MANY')).jobs.length, 50);
    assert.equal((await b.find(`site=${B}`, { limit: 7 })).jobs.length, 7);
    assert.ok(found.jobs.every((job) => many.includes(job.id)));
    // A read of the queues capped below what they hold, with no match in it: partial.
    await fillJobs(redis.redis.client, queueKeys(b.benchId, 'long'), Array.from({ length: 3000 }, (_, i) => `${A}||filler-${i}`));
    const capped = await scanForJobs(redis.redis.client, b.benchId, ['long'], { method: 'no.such.method', visible: () => true }, 50, 1500);
    assert.deepEqual(capped, { refs: [], partial: true });
    const whole = await scanForJobs(redis.redis.client, b.benchId, ['long'], { method: 'no.such.method', visible: () => true }, 50, 10_000);
    assert.deepEqual(whole, { refs: [], partial: false });
    // An id prefix reads PREFIX_READ_LIMIT ids of a structure: past that, partial.
    assert.deepEqual(await b.find('zzzzzzzz'), { query: { kind: 'id', text: 'zzzzzzzz' }, via: 'prefix', jobs: [], partial: false });
    await fillJobs(redis.redis.client, queueKeys(b.benchId, 'long'), Array.from({ length: PREFIX_READ_LIMIT }, (_, i) => `${A}||more-${i}`));
    assert.deepEqual(await b.find('zzzzzzzz'), { query: { kind: 'id', text: 'zzzzzzzz' }, via: 'prefix', jobs: [], partial: true });
    const prefixed = await b.find(`${A}||fill`, { limit: 5 });
    assert.deepEqual([prefixed.via, prefixed.jobs.length, prefixed.partial], ['prefix', 5, false]);
    assert.ok(prefixed.jobs.every((job) => job.id.startsWith(`${A}||filler-`)));
  });
});

describe('findJobs on a connection of its own', () => {
  it('reads only: a find leaves no key behind', async () => {
    const b = await openBench({ dashboard_index_keys: ['customer'] });
    const conn = new Redis(redis.redis.url);
    try {
      const before = await conn.dbsize();
      await findJobs(conn, b.config, 'customer=NOBODY');
      await findJobs(conn, b.config, `method=${ECHO}`);
      await findJobs(conn, b.config, 'abcdefgh');
      assert.equal(await conn.dbsize(), before);
    } finally {
      conn.disconnect();
    }
  });
});
