// Concurrent single enqueues: the requests of one event-loop turn share script calls
// (src/queue/single-writes.ts), yet each is checked and answered as a call of its own: the
// max_queued_jobs limit per job in request order, duplicates per id, FIFO order, and a replayed
// shared call writes nothing twice.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { isBenchError } from '../../src/errors.ts';
import { ScriptCode } from '../../src/redis/codes.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { runScript } from '../../src/redis/scripts.ts';
import { queuedCount, queuedIds } from '../helpers/queued.ts';
import { useBenchSuite } from '../helpers/suite.ts';

const SITE = 'site1.test';
// max_queued_jobs 60, + 50 for the bench's one site: 110.
const LIMIT = 110;
const suite = useBenchSuite({ common: { max_queued_jobs: 60 } });

beforeEach(async () => {
  await suite.redis.client.flushdb(); // private to this file
});

const codeOf = (result: PromiseSettledResult<unknown>) => (result.status === 'fulfilled' ? 'ok' : isBenchError(result.reason) ? result.reason.code : String(result.reason));

describe('concurrent single enqueues', () => {
  it('150 at once against a limit of 110: the first 110 in request order are queued, in order, and the other 40 refused', async () => {
    const results = await Promise.allSettled(Array.from({ length: 150 }, (_, n) => suite.client.enqueue('testapp.tasks.echo', { site: SITE, kwargs: { n } })));
    const codes = results.map(codeOf);
    assert.deepEqual(codes, [...Array<string>(LIMIT).fill('ok'), ...Array<string>(150 - LIMIT).fill('ERR_QUEUE_OVERLOADED')]);
    const refused = results[LIMIT] as PromiseRejectedResult;
    assert.match(String((refused.reason as Error).message), /queue "default" is overloaded: 110 jobs waiting, limit 110/);
    const ids = await queuedIds(suite.redis.client, suite.bench.benchId, 'default');
    assert.deepEqual(ids, results.slice(0, LIMIT).map((r) => (r as PromiseFulfilledResult<string>).value));
    const kwargs = await Promise.all(ids.map((id) => suite.redis.client.hget(queueKeys(suite.bench.benchId, 'default').job(id), 'kwargs')));
    assert.deepEqual(kwargs.map((k) => (JSON.parse(k ?? 'null') as { n: number }).n), Array.from({ length: LIMIT }, (_, n) => n));
  });

  it('one id twice in one turn: the first is queued, the second refused (or skipped with deduplicate), each with its own answer', async () => {
    const [first, second, skipped, other] = await Promise.allSettled([
      suite.client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'dup' }),
      suite.client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'dup' }),
      suite.client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'dup', deduplicate: true }),
      suite.client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'other' }),
    ]);
    assert.deepEqual(first, { status: 'fulfilled', value: `${SITE}||dup` });
    assert.equal(codeOf(second as PromiseSettledResult<unknown>), 'ERR_JOB_EXISTS');
    assert.deepEqual(skipped, { status: 'fulfilled', value: undefined });
    assert.deepEqual(other, { status: 'fulfilled', value: `${SITE}||other` });
    assert.equal(await queuedCount(suite.redis.client, suite.bench.benchId, 'default'), 2);
  });

  it('requests to several queues and with different options in one turn each land where they asked', async () => {
    const ids = await Promise.all([
      suite.client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'short', kwargs: { q: 'short' } }),
      suite.client.enqueue('testapp.tasks.echo', { site: SITE, kwargs: { q: 'default' } }),
      suite.client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'short', timeout: 7, kwargs: { q: 'short-7' } }),
      suite.client.enqueue('testapp.tasks.echo', { site: SITE, inSeconds: 3600, kwargs: { q: 'later' } }),
    ]);
    const k = (queue: string) => queueKeys(suite.bench.benchId, queue);
    assert.deepEqual(await queuedIds(suite.redis.client, suite.bench.benchId, 'short'), [ids[0], ids[2]]);
    assert.deepEqual(await queuedIds(suite.redis.client, suite.bench.benchId, 'default'), [ids[1]]);
    assert.equal(await suite.redis.client.hget(k('short').job(ids[2]), 'timeout'), '7');
    assert.equal(await suite.redis.client.hget(k('default').job(ids[3]), 'status'), 'scheduled');
  });

  it('a shared call replayed after a lost reply writes nothing twice', async () => {
    const k = queueKeys(suite.bench.benchId, 'default');
    const scripted = await suite.client.connection();
    const call = () =>
      runScript(
        scripted,
        'enqueue',
        [k.wait, k.marker, k.finished, k.failed, k.delayed, k.wait],
        ['0', String(LIMIT), '', '0', '0', '', '', '', '0', k.prefix, '0', '1', 'method', 'testapp.tasks.echo', 's||a', '{}', '', 's||b', '{}', ''],
      );
    assert.deepEqual(await call(), [ScriptCode.OK, ScriptCode.OK, 2]);
    assert.deepEqual(await call(), [ScriptCode.REPLAYED, ScriptCode.REPLAYED, 2]);
    assert.deepEqual(await queuedIds(suite.redis.client, suite.bench.benchId, 'default'), ['s||a', 's||b']);
  });
});
