// Realtime messages on the Redis channel `events`, in Frappe's shape {event, message, room,
// namespace}: from jobs (ctx.publishRealtime, immediate or after commit), from app code
// (client.publishRealtime, tx.publishRealtime); and the job lifecycle events, in the same shape on the
// bench's own channel bw:{<bench_id>}:events.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BenchClient } from '../../src/client.ts';
import { benchKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { linkPackage, openSqlite } from '../helpers/databases.ts';
import { startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

interface Envelope {
  event: string;
  message: Record<string, unknown>;
  room: string;
  namespace: string;
}

let redis: TestRedis;
let bench: TestBench;
let client: BenchClient;
let subscriber: Redis;
let received: Envelope[] = [];
/** The channel each received envelope came on. */
let channelOf = new WeakMap<Envelope, string>();
const SITE = 'site1.test';

const forJob = (id: string) => received.filter((e) => e.message['job_id'] === id || e.room === `job:${id}`);

before(async () => {
  redis = await startRedis();
  bench = makeBench({ redisUrl: redis.url, sites: { [SITE]: {} } });
  linkPackage(bench);
  const db = openSqlite(bench, SITE);
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, value TEXT NOT NULL)');
  db.exec('CREATE TABLE "tabSales Order" (name TEXT PRIMARY KEY, customer TEXT, grand_total NUMERIC, status TEXT)');
  db.exec(`INSERT INTO "tabSales Order" VALUES ('SO-7', 'ACME', 10, 'Draft')`);
  db.close();
  client = await BenchClient.open({ benchPath: bench.path });
  subscriber = new Redis(redis.url);
  await subscriber.subscribe('events', benchKeys(bench.benchId).events);
  subscriber.on('message', (channel: string, text: string) => {
    const envelope = JSON.parse(text) as Envelope;
    channelOf.set(envelope, channel);
    received.push(envelope);
  });
});

beforeEach(() => {
  received = [];
  channelOf = new WeakMap();
});

after(async () => {
  subscriber.disconnect();
  await client.close();
  await redis.stop();
  bench.remove();
});

describe('job lifecycle events', () => {
  it('publishes job_started then job_finished to the job room and the user room', async () => {
    const id = await client.enqueue('dbapp.tasks.outcome', { site: SITE, user: 'ann@example.com', kwargs: { value: 1 } });
    await startSupervisor(bench, { burst: true }).done;
    await waitForStatus(redis.client, bench, 'default', id, 'finished');
    await waitFor(() => forJob(id).length >= 4, { what: 'four lifecycle messages' });
    const events = forJob(id);
    assert.deepEqual(events.map((e) => [e.event, e.room]), [
      ['job_started', `job:${id}`],
      ['job_started', 'user:ann@example.com'],
      ['job_finished', `job:${id}`],
      ['job_finished', 'user:ann@example.com'],
    ]);
    assert.deepEqual(new Set(events.map((e) => channelOf.get(e))), new Set([benchKeys(bench.benchId).events]), 'job events go to the bench\'s channel only');
    const started = events[0] as Envelope;
    assert.equal(started.namespace, SITE);
    assert.deepEqual(started.message, {
      job_id: id,
      method: 'dbapp.tasks.outcome',
      job_name: 'dbapp.tasks.outcome',
      queue: 'default',
      status: 'started',
      attempt: 1,
      user: 'ann@example.com',
    });
    const finished = events[2] as Envelope;
    assert.equal(finished.message['status'], 'finished');
    assert.equal(typeof finished.message['duration_ms'], 'number');
  });

  it('publishes job_failed with the error', async () => {
    const id = await client.enqueue('dbapp.tasks.outcome', { site: SITE, kwargs: { fail: true } });
    await startSupervisor(bench, { burst: true }).done;
    await waitForStatus(redis.client, bench, 'default', id, 'failed');
    await waitFor(() => forJob(id).length >= 2, { what: 'two lifecycle messages' });
    const failed = forJob(id)[1] as Envelope;
    assert.equal(failed.event, 'job_failed');
    assert.equal(failed.room, `job:${id}`);
    assert.deepEqual(failed.message['error'], { name: 'Error', message: 'outcome: failing on purpose' });
  });
});

describe('ctx.publishRealtime', () => {
  it('publishes at once, and holds afterCommit messages until the commit', async () => {
    const file = path.join(os.tmpdir(), `bw-rt-${process.pid}-${Date.now()}`);
    const id = await client.enqueue('dbapp.tasks.with_after_commit', { site: SITE, kwargs: { file, table: 'items', value: 'v1', user: 'bob' } });
    await startSupervisor(bench, { burst: true }).done;
    await waitForStatus(redis.client, bench, 'default', id, 'finished');
    await waitFor(() => received.some((e) => e.event === 'job_finished' && e.message['job_id'] === id), { what: 'job_finished' });
    const mine = received.filter((e) => e.namespace === SITE && ['row_adding', 'row_added', 'job_finished'].includes(e.event) && (e.message['job_id'] ?? id) === id);
    assert.deepEqual(mine.map((e) => [e.event, e.room]), [
      ['row_adding', 'user:bob'],
      ['row_added', 'doctype:Row'],
      ['job_finished', `job:${id}`],
    ]);
    assert.deepEqual((mine[1] as Envelope).message, { value: 'v1' });
  });

  it('drops afterCommit messages of a job that fails', async () => {
    const file = path.join(os.tmpdir(), `bw-rt-${process.pid}-${Date.now()}-f`);
    const id = await client.enqueue('dbapp.tasks.with_after_commit', { site: SITE, kwargs: { file, table: 'items', value: 'v2', fail: true } });
    await startSupervisor(bench, { burst: true }).done;
    await waitForStatus(redis.client, bench, 'default', id, 'failed');
    await waitFor(() => received.some((e) => e.event === 'job_failed' && e.message['job_id'] === id), { what: 'job_failed' });
    assert.ok(received.some((e) => e.event === 'row_adding' && e.message['value'] === 'v2'), 'the immediate message went out');
    assert.ok(!received.some((e) => e.event === 'row_added' && e.message['value'] === 'v2'), 'the after-commit one did not');
  });

  it('chooses rooms as Frappe does', async () => {
    const cases: [Record<string, unknown>, string, Record<string, unknown>?][] = [
      [{ event: 'e1', message: { a: 1 } }, 'all'],
      [{ event: 'e2', message: {}, options: { user: 'cy' } }, 'user:cy'],
      [{ event: 'e3', message: {}, options: { doctype: 'ToDo', docname: 'T-1' } }, 'doc:ToDo/T-1'],
      [{ event: 'e4', message: {}, options: { room: 'custom-room', user: 'ignored' } }, 'custom-room'],
      [{ event: 'e5', message: { p: 50 }, options: { taskId: 'task-9' } }, 'task_progress:task-9', { p: 50, task_id: 'task-9' }],
      [{ event: 'list_update', message: { doctype: 'Note' } }, 'doctype:Note'],
      [{ event: 'msgprint', message: 'hello' }, 'user:job-user'],
    ];
    const ids: string[] = [];
    for (const [kwargs] of cases) ids.push(await client.enqueue('dbapp.tasks.publish', { site: SITE, user: 'job-user', kwargs }));
    await startSupervisor(bench, { burst: true }).done;
    for (const id of ids) await waitForStatus(redis.client, bench, 'default', id, 'finished');
    await waitFor(() => received.filter((e) => !e.event.startsWith('job_')).length >= cases.length, { what: 'the messages' });
    const messages = received.filter((e) => !e.event.startsWith('job_'));
    for (const [i, [kwargs, room, message]] of cases.entries()) {
      const got = messages[i] as Envelope;
      assert.equal(got.event, kwargs['event']);
      assert.equal(got.room, room, `room of ${String(kwargs['event'])}`);
      assert.deepEqual(got.message, message ?? kwargs['message']);
      assert.equal(got.namespace, SITE);
      assert.equal(channelOf.get(got), 'events', `channel of ${String(kwargs['event'])}`);
    }
  });
});

describe('ctx.publishProgress', () => {
  it('publishes Frappe\'s progress event to the task, document, user or site room', async () => {
    const cases: [Record<string, unknown>, string | undefined, string, Record<string, unknown>][] = [
      [{ percent: 10 }, 'job-user', 'user:job-user', { percent: 10, title: null, description: null }],
      [{ percent: 20, options: { title: 'Import', description: 'row 2 of 10' } }, undefined, 'all', { percent: 20, title: 'Import', description: 'row 2 of 10' }],
      [{ percent: 30, options: { doctype: 'ToDo', docname: 'T-1' } }, 'job-user', 'doc:ToDo/T-1', { percent: 30, title: null, description: null }],
      [{ percent: 40, options: { taskId: 't-4' } }, 'job-user', 'task_progress:t-4', { percent: 40, title: null, description: null, task_id: 't-4' }],
    ];
    const ids: string[] = [];
    for (const [kwargs, user] of cases) ids.push(await client.enqueue('dbapp.tasks.progress', { site: SITE, user, kwargs }));
    ids.push(await client.enqueueDoc('Sales Order', 'SO-7', 'report_progress', { site: SITE, user: 'job-user', kwargs: { percent: 50 } }));
    await startSupervisor(bench, { burst: true }).done;
    for (const id of ids) await waitForStatus(redis.client, bench, 'default', id, 'finished');
    await waitFor(() => received.filter((e) => e.event === 'progress').length >= ids.length, { what: 'the progress messages' });
    const progress = received.filter((e) => e.event === 'progress');
    for (const [i, [, , room, message]] of cases.entries()) {
      assert.equal(progress[i]?.room, room);
      assert.deepEqual(progress[i]?.message, message);
      assert.equal(channelOf.get(progress[i] as Envelope), 'events');
    }
    assert.equal(progress[4]?.room, 'doc:Sales Order/SO-7', 'an enqueueDoc job reports on its document');
    assert.deepEqual(progress[4]?.message, { percent: 50, title: 'Updating SO-7', description: null });
  });
});

describe('realtime from app code', () => {
  it('client.publishRealtime publishes the envelope and returns the receivers', async () => {
    const n = await client.publishRealtime('doc_update', { modified: 1 }, { site: SITE, doctype: 'Sales Order', docname: 'SO-1' });
    assert.equal(n, 1);
    await waitFor(() => received.length >= 1, { what: 'the message' });
    assert.deepEqual(received[0], { event: 'doc_update', message: { modified: 1 }, room: 'doc:Sales Order/SO-1', namespace: SITE });
    assert.equal(channelOf.get(received[0] as Envelope), 'events');
    await assert.rejects(client.publishRealtime('x', {}, { site: 'nosuch.site' }), { code: 'ERR_SITE_NOT_FOUND' });
  });

  it('tx.publishRealtime with afterCommit waits for the commit, and is dropped by a rollback', async () => {
    const db = client.siteDb(SITE);
    await db.transaction(async (tx) => {
      await tx.publishRealtime('committed_msg', { n: 1 }, { afterCommit: true });
      await delay(100);
      assert.equal(received.length, 0, 'not before the commit');
    });
    await waitFor(() => received.length >= 1, { what: 'the message' });
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.publishRealtime('rolled_back_msg', {}, { afterCommit: true });
        throw new Error('no');
      }),
    );
    await delay(100);
    assert.deepEqual(received.map((e) => e.event), ['committed_msg']);
    assert.equal((received[0] as Envelope).room, 'all');
  });
});
