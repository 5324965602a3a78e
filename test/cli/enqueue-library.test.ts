// The library side of enqueueing: BenchClient.open / enqueue / enqueueMany / close, as app code uses it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { BenchClient, isBenchError } from '../../src/index.ts';
import { REPO_ROOT, makeBench, type TestBench } from '../helpers/bench.ts';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { SITE, GENERATED_ID, assertNothingWritten, jobKey, laneKey } from './support.ts';

let redis: TestRedis;
let bench: TestBench;
let client: BenchClient;
const extra: TestBench[] = [];

before(async () => {
  redis = await startRedis();
  // max_queued_jobs raised: enqueueMany of 1,234 jobs must fit whole under it.
  bench = makeBench({ redisUrl: redis.url, common: { max_queued_jobs: 5000 } });
  client = await BenchClient.open({ benchPath: bench.path });
});

after(async () => {
  await client?.close();
  bench?.remove();
  for (const b of extra) b.remove();
  await redis?.stop();
});

/** Assert `promise` rejects with a BenchError of `code` whose message contains every `parts`. */
async function rejectsWith(promise: Promise<unknown>, code: string, parts: readonly string[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isBenchError(err), `expected a BenchError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const part of parts) assert.ok(err.message.includes(part), `message lacks ${JSON.stringify(part)}: ${err.message}`);
    return true;
  });
}

async function tasksModule(b: TestBench): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(path.join(b.path, 'apps', 'testapp', 'testapp', 'tasks.ts')).href)) as Record<string, unknown>;
}

describe('BenchClient', () => {
  test('enqueue returns site||id and the job is queued in Redis', async () => {
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE, kwargs: { n: 1 } });
    assert.ok(id.startsWith(`${SITE}||`), id);
    assert.match(id.slice(SITE.length + 2), GENERATED_ID);
    const hash = await redis.client.hgetall(jobKey(bench.benchId, id));
    assert.equal(hash['status'], 'queued');
    assert.equal(hash['method'], 'testapp.tasks.echo');
    assert.equal(hash['site'], undefined, 'the id gives the site');
    assert.equal(hash['queue'], undefined, 'the key gives the queue');
    assert.equal(hash['timeout'], undefined, "the queue's default timeout is not stored");
    assert.equal(hash['kwargs'], '{"n":1}');
    const waiting = await redis.client.lrange(laneKey(bench.benchId), 0, -1);
    assert.equal(waiting.at(-1), id);
    const empty = await client.enqueue('testapp.tasks.echo', { site: SITE });
    const bare = await redis.client.hgetall(jobKey(bench.benchId, empty));
    assert.equal(bare['kwargs'], undefined, 'empty kwargs are not stored');
    assert.deepEqual((await client.getJob(SITE, empty))?.kwargs, {}, 'and read back as {}');
    assert.equal((await client.getJob(SITE, empty))?.timeout, 300, "and the timeout read back is the queue's default");
  });

  test('enqueue options: queue, timeout, jobId, atFront', async () => {
    const a = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' });
    const b = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long', timeout: 5, jobId: 'lib:1', atFront: true });
    assert.equal(b, 'site1.test||lib|1');
    assert.equal(await redis.client.hget(jobKey(bench.benchId, a, 'long'), 'timeout'), null, "long's default: not stored");
    assert.equal((await client.getJob(SITE, a))?.timeout, 1500);
    assert.equal(await redis.client.hget(jobKey(bench.benchId, b, 'long'), 'timeout'), '5');
    assert.deepEqual(await redis.client.lrange(laneKey(bench.benchId, 'long'), 0, -1), [b, a]);
    await assertNothingWritten(redis, () =>
      rejectsWith(client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long', jobId: 'lib:1' }), 'ERR_JOB_EXISTS', ['site1.test||lib|1']),
    );
  });

  test('enqueueMany returns the ids in order, all in Redis', async () => {
    const before = await redis.client.llen(laneKey(bench.benchId, 'short'));
    assert.equal(before, 0);
    const kwargsList = Array.from({ length: 1234 }, (_, i) => ({ i }));
    const ids = await client.enqueueMany('testapp.tasks.echo', kwargsList, { site: SITE, queue: 'short' });
    assert.equal(ids.length, kwargsList.length);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(await redis.client.lrange(laneKey(bench.benchId, 'short'), 0, -1), ids);
    const pipeline = redis.client.pipeline();
    for (const id of ids) pipeline.hmget(jobKey(bench.benchId, id, 'short'), 'status', 'kwargs');
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([err, fields], i) => {
      assert.equal(err, null);
      assert.deepEqual(fields, ['queued', `{"i":${i}}`], `job ${i}`);
    });
  });

  test('a function exported by an app module is stored as its dotted path', async () => {
    const tasks = await tasksModule(bench);
    assert.equal(typeof tasks['echo'], 'function');
    const id = await client.enqueue(tasks['echo'] as () => unknown, { site: SITE, kwargs: { via: 'function' } });
    const hash = await redis.client.hgetall(jobKey(bench.benchId, id));
    assert.equal(hash['method'], 'testapp.tasks.echo');
    assert.equal(hash['kwargs'], '{"via":"function"}');

    const ids = await client.enqueueMany(tasks['add'] as () => unknown, [{ a: 1, b: 2 }], { site: SITE });
    assert.equal(await redis.client.hget(jobKey(bench.benchId, ids[0] as string), 'method'), 'testapp.tasks.add');
  });

  test('a function no app module exports is refused', async () => {
    await assertNothingWritten(redis, () =>
      rejectsWith(client.enqueue(function localOnly() {}, { site: SITE }), 'ERR_JOB_LOAD', ['localOnly', 'not exported']),
    );
  });

  test('enqueueMany with a bad entry at index 2 rejects naming "entry 3" and enqueues nothing', async () => {
    const kwargsList = [{ n: 1 }, { n: 2 }, { n: 3, callback: () => 1 }, { n: 4 }];
    await assertNothingWritten(redis, () =>
      rejectsWith(client.enqueueMany('testapp.tasks.echo', kwargsList, { site: SITE }), 'ERR_ENQUEUE_INVALID', ['entry 3', 'kwargs.callback']),
    );
  });

  test('kwargs that JSON cannot carry are refused with their path', async () => {
    for (const [kwargs, part] of [
      [{ when: new Date() }, 'kwargs.when'],
      [{ list: [1, undefined] }, 'kwargs.list[1]'],
      [{ n: Number.NaN }, 'kwargs.n'],
      [{ big: 1n }, 'kwargs.big'],
    ] as const) {
      await assertNothingWritten(redis, () =>
        rejectsWith(client.enqueue('testapp.tasks.echo', { site: SITE, kwargs: kwargs as Record<string, unknown> }), 'ERR_ENQUEUE_INVALID', [part]),
      );
    }
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    await rejectsWith(client.enqueue('testapp.tasks.echo', { site: SITE, kwargs: circular }), 'ERR_ENQUEUE_INVALID', ['circular']);
  });

  test('validation errors: site, queue, app, timeout', async () => {
    await assertNothingWritten(redis, async () => {
      await rejectsWith(client.enqueue('testapp.tasks.echo', { site: '' }), 'ERR_ENQUEUE_INVALID', ['needs a site', SITE]);
      await rejectsWith(client.enqueue('testapp.tasks.echo', { site: 'nosuch.test' }), 'ERR_SITE_NOT_FOUND', ['nosuch.test']);
      await rejectsWith(client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'huge' }), 'ERR_QUEUE_UNKNOWN', ['short, default, long']);
      await rejectsWith(client.enqueue('noapp.tasks.echo', { site: SITE }), 'ERR_JOB_LOAD', ['noapp']);
      await rejectsWith(client.enqueue('testapp.tasks.echo', { site: SITE, timeout: 0 }), 'ERR_ENQUEUE_INVALID', ['timeout']);
    });
  });

  test('a long-lived client sees a site_config.json edit and a new module file within a second', async () => {
    const b = makeBench({ redisUrl: redis.url });
    extra.push(b);
    const c = await BenchClient.open({ benchPath: b.path });
    try {
      await c.enqueue('testapp.tasks.echo', { site: SITE, kwargs: { text: 'a long enough payload' } });
      b.writeSite(SITE, { max_job_payload_bytes: 10 });
      const editedAt = Date.now();
      const refused = await waitFor(
        () => c.enqueue('testapp.tasks.echo', { site: SITE, kwargs: { text: 'a long enough payload' } }).then(() => undefined, (err: unknown) => err),
        { timeoutMs: 3000, what: 'the payload limit edit to take effect' },
      );
      assert.ok(isBenchError(refused) && refused.code === 'ERR_PAYLOAD_TOO_LARGE', String(refused));
      assert.ok(Date.now() - editedAt < 1500, `seen after ${Date.now() - editedAt} ms`);
      b.writeSite(SITE, {});
      await rejectsWith(c.enqueue('testapp.brand_new.run', { site: SITE }), 'ERR_JOB_LOAD', ['brand_new']);
      writeFileSync(path.join(b.path, 'apps', 'testapp', 'testapp', 'brand_new.mjs'), 'export function run() {}\n');
      const id = await c.enqueue('testapp.brand_new.run', { site: SITE });
      assert.ok(id.startsWith(`${SITE}||`));
    } finally {
      await c.close();
    }
  });

  test('a method its module does not export is refused at enqueue by default; verifyMethod: false lets it through', async () => {
    await rejectsWith(client.enqueue('testapp.tasks.ech0', { site: SITE }), 'ERR_JOB_LOAD', ['no export "ech0"']);
    const lax = await BenchClient.open({ benchPath: bench.path, verifyMethod: false });
    try {
      const id = await lax.enqueue('testapp.tasks.ech0', { site: SITE });
      assert.ok(id.startsWith(`${SITE}||`));
    } finally {
      await lax.close();
    }
  });

  test('open() on a bench whose Redis is down rejects with ERR_REDIS_UNAVAILABLE', async () => {
    const down = makeBench({ redisUrl: `redis://127.0.0.1:${await freePort()}` });
    extra.push(down);
    await rejectsWith(BenchClient.open({ benchPath: down.path }), 'ERR_REDIS_UNAVAILABLE', ['127.0.0.1']);
  });

  test('plain Node app code (no tsx) imports the built package by name, and close() lets it exit', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-lib-'));
    try {
      // An app with bench-worker installed: node_modules/bench-worker is this repository (its dist/).
      mkdirSync(path.join(dir, 'node_modules'));
      symlinkSync(REPO_ROOT, path.join(dir, 'node_modules', 'bench-worker'), 'dir');
      const script = path.join(dir, 'producer.mjs');
      writeFileSync(
        script,
        [
          "import { BenchClient } from 'bench-worker';",
          'const client = await BenchClient.open({ benchPath: process.argv[2] });',
          `const id = await client.enqueue('testapp.tasks.echo', { site: ${JSON.stringify(SITE)}, kwargs: { from: 'child' } });`,
          '// now: true runs the .ts job module inline, in this plain Node process.',
          `const sum = await client.enqueue('testapp.tasks.add', { site: ${JSON.stringify(SITE)}, now: true, kwargs: { a: 2, b: 3 } });`,
          'await client.close();',
          'console.log(id);',
          'console.log(JSON.stringify(sum));',
        ].join('\n'),
      );
      const child = spawn(process.execPath, [script, bench.path], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`the process did not exit after close() (stdout: ${stdout}, stderr: ${stderr})`));
        }, 20_000);
        child.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(code, 0, stderr);
      const [id, sum] = stdout.trim().split('\n');
      assert.equal(await redis.client.hget(jobKey(bench.benchId, id ?? ''), 'kwargs'), '{"from":"child"}');
      assert.equal(sum, '5');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
