// `bench enqueue` refusals: each exits non-zero, says on stderr what is wrong, and writes nothing
// to Redis (the whole database is compared before and after).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { runBench, type CliResult } from '../helpers/cli.ts';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { SITE, assertFailure, assertNothingWritten, assertSuccess, jobKey, laneKey } from './support.ts';

let redis: TestRedis;
let bench: TestBench;
const extraBenches: TestBench[] = [];

before(async () => {
  redis = await startRedis();
  bench = makeBench({ redisUrl: redis.url });
});

after(async () => {
  bench?.remove();
  for (const b of extraBenches) b.remove();
  await redis?.stop();
});

function newBench(options: { common?: Record<string, unknown>; sites?: Record<string, Record<string, unknown>> }): TestBench {
  const b = makeBench({ redisUrl: redis.url, ...options });
  extraBenches.push(b);
  return b;
}

/** Run `bench ...args` in `cwd` and assert that Redis is unchanged afterwards. */
function refused(args: readonly string[], cwd = bench.path): Promise<CliResult> {
  return assertNothingWritten(redis, () => runBench(args, { cwd }));
}

const enqueueArgs = (...rest: string[]) => ['--site', SITE, 'enqueue', ...rest];

describe('bench enqueue: bad method, queue or kwargs', () => {
  test('unknown queue lists the valid ones', async () => {
    const result = await refused(enqueueArgs('testapp.tasks.echo', '--queue', 'huge'));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_QUEUE_UNKNOWN', '"huge"', 'short, default, long'] });
  });

  test('unknown export names the export and the file', async () => {
    const result = await refused(enqueueArgs('testapp.tasks.nope'));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_JOB_LOAD', 'no export "nope"', 'tasks.ts'] });
  });

  test('an export that is not a function is refused', async () => {
    const result = await refused(enqueueArgs('testapp.tasks.notAFunction'));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_JOB_LOAD', 'notAFunction', 'not a function'] });
  });

  test('missing module names the files tried', async () => {
    const result = await refused(enqueueArgs('testapp.nomodule.run'));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_JOB_LOAD', 'module file not found', path.join('testapp', 'testapp', 'nomodule.ts')] });
  });

  test('a module that throws while importing is refused', async () => {
    const result = await refused(enqueueArgs('testapp.broken.run'));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_JOB_LOAD', 'broken module'] });
  });

  test('unknown app', async () => {
    const result = await refused(enqueueArgs('noapp.tasks.run'));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_JOB_LOAD', 'app "noapp" not found'] });
  });

  for (const method of ['testapp.echo', 'testapp..echo', 'testapp.tasks.echo-it', '../etc.passwd.x', 'echo']) {
    test(`invalid dotted path ${JSON.stringify(method)}`, async () => {
      const result = await refused(enqueueArgs(method));
      assertFailure(result, { exitCode: 1, stderr: ['ERR_JOB_LOAD', `invalid method "${method}"`] });
    });
  }

  test('--kwargs that is not JSON', async () => {
    const result = await refused(enqueueArgs('testapp.tasks.echo', '--kwargs', '{n:1}'));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_ENQUEUE_INVALID', '--kwargs', 'not valid JSON'] });
  });

  for (const kwargs of ['[1,2]', '"text"', '42', 'null']) {
    test(`--kwargs ${kwargs} (not an object) is refused`, async () => {
      const result = await refused(enqueueArgs('testapp.tasks.echo', '--kwargs', kwargs));
      assertFailure(result, { exitCode: 1, stderr: ['ERR_ENQUEUE_INVALID', '--kwargs', 'must be a JSON object'] });
    });
  }

  for (const value of ['0', '-5', 'abc', '1.5']) {
    test(`--timeout ${value} is a usage error`, async () => {
      const result = await refused(enqueueArgs('testapp.tasks.echo', '--timeout', value));
      assertFailure(result, { exitCode: 2, stderr: ['ERR_USAGE', '--timeout', `"${value}"`] });
    });
  }

  test('unknown option exits 2', async () => {
    const result = await refused(enqueueArgs('testapp.tasks.echo', '--frobnicate'));
    assertFailure(result, { exitCode: 2, stderr: ['--frobnicate'] });
  });

  test('missing METHOD exits 2', async () => {
    const result = await refused(enqueueArgs());
    assertFailure(result, { exitCode: 2, stderr: ['method'] });
  });

  test('--json errors are JSON on stderr with the code', async () => {
    const result = await refused(enqueueArgs('testapp.tasks.echo', '--queue', 'huge', '--json'));
    assertFailure(result, { exitCode: 1, stderr: [] });
    const parsed = JSON.parse(result.stderr) as { error: { code: string; message: string; validQueues: string[] } };
    assert.equal(parsed.error.code, 'ERR_QUEUE_UNKNOWN');
    assert.deepEqual(parsed.error.validQueues, ['short', 'default', 'long']);
  });
});

describe('bench enqueue: site, bench and Redis', () => {
  test('missing --site exits 2', async () => {
    const result = await refused(['enqueue', 'testapp.tasks.echo']);
    assertFailure(result, { exitCode: 2, stderr: ['ERR_USAGE', 'needs a site', '--site'] });
  });

  test('unknown site names it', async () => {
    const result = await refused(['--site', 'nosuch.test', 'enqueue', 'testapp.tasks.echo']);
    assertFailure(result, { exitCode: 1, stderr: ['ERR_SITE_NOT_FOUND', 'nosuch.test'] });
  });

  test('a site name that could leave sites/ is refused', async () => {
    const result = await refused(['--site', '../site1.test', 'enqueue', 'testapp.tasks.echo']);
    assertFailure(result, { exitCode: 1, stderr: ['ERR_SITE_NOT_FOUND', 'not a valid site name'] });
  });

  test('no bench around the current folder', async () => {
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'bw-nobench-'));
    try {
      const result = await refused(enqueueArgs('testapp.tasks.echo'), elsewhere);
      assertFailure(result, { exitCode: 1, stderr: ['ERR_BENCH_NOT_FOUND', '--bench-path'] });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test('--bench-path that is not a bench', async () => {
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'bw-nobench-'));
    try {
      const result = await refused(['--bench-path', elsewhere, ...enqueueArgs('testapp.tasks.echo')], bench.path);
      assertFailure(result, { exitCode: 1, stderr: ['ERR_BENCH_NOT_FOUND', elsewhere] });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test('payload over max_job_payload_bytes is refused; exactly the limit is accepted', async () => {
    const small = newBench({ common: { max_job_payload_bytes: 100 } });
    // {"s":"..."} is 8 bytes plus the string.
    const over = JSON.stringify({ s: 'x'.repeat(93) });
    const exact = JSON.stringify({ s: 'x'.repeat(92) });
    assert.equal(Buffer.byteLength(over), 101);
    const result = await refused(enqueueArgs('testapp.tasks.echo', '--kwargs', over), small.path);
    assertFailure(result, { exitCode: 1, stderr: ['ERR_PAYLOAD_TOO_LARGE', '101 bytes', '100 bytes', 'max_job_payload_bytes'] });

    const ok = await runBench(enqueueArgs('testapp.tasks.echo', '--kwargs', exact), { cwd: small.path });
    assertSuccess(ok);
    assert.equal(await redis.client.llen(laneKey(small.benchId)), 1);
  });

  test('a multi-byte payload is measured in bytes, not characters', async () => {
    const small = newBench({ common: { max_job_payload_bytes: 100 } });
    const kwargs = JSON.stringify({ s: 'é'.repeat(60) }); // 68 characters, 128 bytes
    const result = await refused(enqueueArgs('testapp.tasks.echo', '--kwargs', kwargs), small.path);
    assertFailure(result, { exitCode: 1, stderr: ['ERR_PAYLOAD_TOO_LARGE', '128 bytes'] });
  });

  test('an app not installed on the site is refused; an installed one is accepted', async () => {
    const other = newBench({ sites: { [SITE]: { installed_apps: ['otherapp'] } } });
    const result = await refused(enqueueArgs('testapp.tasks.echo'), other.path);
    assertFailure(result, { exitCode: 1, stderr: ['ERR_APP_NOT_INSTALLED', '"testapp"', 'not installed'] });

    const ok = await runBench(enqueueArgs('otherapp.tasks.hello'), { cwd: other.path });
    assertSuccess(ok);
    assert.equal(await redis.client.hget(jobKey(other.benchId, ok.stdout.trim()), 'method'), 'otherapp.tasks.hello');
  });

  test('Redis down: exit 1 with ERR_REDIS_UNAVAILABLE within a few seconds', async () => {
    const port = await freePort();
    const down = makeBench({ redisUrl: `redis://127.0.0.1:${port}` });
    extraBenches.push(down);
    const started = Date.now();
    const result = await runBench(enqueueArgs('testapp.tasks.echo'), { cwd: down.path, timeoutMs: 30_000 });
    const elapsed = Date.now() - started;
    assertFailure(result, { exitCode: 1, stderr: ['ERR_REDIS_UNAVAILABLE', `127.0.0.1:${port}`] });
    assert.ok(elapsed < 10_000, `took ${elapsed} ms to give up`);
  });

  test('the same --job-id twice while queued: the second fails with ERR_JOB_EXISTS', async () => {
    const dup = newBench({});
    const first = await runBench(enqueueArgs('testapp.tasks.echo', '--job-id', 'once', '--kwargs', '{"run":1}'), { cwd: dup.path });
    assertSuccess(first);
    assert.equal(first.stdout.trim(), 'site1.test||once');

    const second = await refused(enqueueArgs('testapp.tasks.echo', '--job-id', 'once', '--kwargs', '{"run":2}'), dup.path);
    assertFailure(second, { exitCode: 1, stderr: ['ERR_JOB_EXISTS', 'site1.test||once', 'on queue "default"', 'replaced nothing', '--deduplicate'] });
    assert.deepEqual(await redis.client.lrange(laneKey(dup.benchId), 0, -1), ['site1.test||once']);
    assert.equal(await redis.client.hget(jobKey(dup.benchId, 'site1.test||once'), 'kwargs'), '{"run":1}');
  });

  test('the same --job-id on another site is a different job', async () => {
    const two = newBench({ sites: { [SITE]: {}, 'site2.test': {} } });
    const a = await runBench(enqueueArgs('testapp.tasks.echo', '--job-id', 'same'), { cwd: two.path });
    const b = await runBench(['--site', 'site2.test', 'enqueue', 'testapp.tasks.echo', '--job-id', 'same'], { cwd: two.path });
    assertSuccess(a);
    assertSuccess(b);
    assert.deepEqual(await redis.client.lrange(laneKey(two.benchId), 0, -1), ['site1.test||same']);
    assert.deepEqual(await redis.client.lrange(laneKey(two.benchId, 'default', 'site2.test'), 0, -1), ['site2.test||same']);
  });
});
