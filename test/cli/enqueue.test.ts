// `bench --site S enqueue METHOD`: one job, its record in Redis, the options that shape it, and
// finding the bench from a subfolder or with --bench-path.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { TestBench } from '../helpers/bench.ts';
import { runBench } from '../helpers/cli.ts';
import { readConfiguredJob } from '../helpers/jobs.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { SITE, GENERATED_ID, assertSuccess, jobKey, laneKey } from './support.ts';

const env = useRedisBenches();

/** Enqueue with the CLI and return the one id it printed (asserting that is all it printed). */
async function enqueueOne(bench: TestBench, args: readonly string[], cwd = bench.path): Promise<string> {
  const result = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', ...args], { cwd });
  assertSuccess(result);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `expected exactly one id, got: ${result.stdout}`);
  return lines[0] as string;
}

describe('bench enqueue (one job)', () => {
  test('prints site||id and stores a queued job on the default queue', async () => {
    const bench = env.newBench();
    const result = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--kwargs', '{"n":1}'], { cwd: bench.path });
    assertSuccess(result);
    assert.match(result.stdout, /^site1\.test\|\|[A-Za-f][A-Za-z0-9_-]{21}\n$/);
    const id = result.stdout.trim();
    assert.match(id.slice(`${SITE}||`.length), GENERATED_ID);

    const hash = await env.redis.client.hgetall(jobKey(bench.benchId, id));
    assert.equal(hash['status'], 'queued');
    assert.equal(hash['method'], 'testapp.tasks.echo');
    assert.equal(hash['site'], undefined, 'the id gives the site');
    assert.equal(hash['queue'], undefined, 'the key gives the queue');
    assert.equal(hash['timeout'], undefined, "the queue's default timeout is not stored");
    assert.deepEqual(JSON.parse(hash['kwargs'] ?? 'null'), { n: 1 });
    assert.ok(Number(hash['enq']) > 0, `enq should be a timestamp, found ${String(hash['enq'])}`);
    assert.equal(hash['rttl'], undefined, 'the worker reads rq_results_ttl from the config');
    assert.equal(hash['fttl'], undefined, "the site keeps the bench's rq_job_failure_ttl: not stored");
    assert.equal(hash['name'], undefined, 'no job name is stored when it is the method');
    assert.equal(hash['user'], undefined);

    assert.deepEqual(await env.redis.client.lrange(laneKey(bench.benchId), 0, -1), [id]);
  });

  test('without --kwargs the job gets {} and two runs get different ids', async () => {
    const bench = env.newBench();
    const a = await enqueueOne(bench, []);
    const b = await enqueueOne(bench, []);
    assert.notEqual(a, b);
    assert.equal(await env.redis.client.hget(jobKey(bench.benchId, a), 'kwargs'), null, 'empty kwargs are not stored');
    assert.deepEqual((await readConfiguredJob(env.redis.client, bench, 'default', a))?.kwargs, {});
    assert.deepEqual(await env.redis.client.lrange(laneKey(bench.benchId), 0, -1), [a, b]);
  });

  test('kwargs with nested values and unicode are stored as the same JSON', async () => {
    const bench = env.newBench();
    const kwargs = { s: 'héllo ✓', list: [1, 2.5, null, true], nested: { deep: { x: 'y' } } };
    const id = await enqueueOne(bench, ['--kwargs', JSON.stringify(kwargs)]);
    assert.deepEqual(JSON.parse((await env.redis.client.hget(jobKey(bench.benchId, id), 'kwargs')) ?? 'null'), kwargs);
  });

  test('--queue long uses the long queue and its 1500 s timeout', async () => {
    const bench = env.newBench();
    const id = await enqueueOne(bench, ['--queue', 'long']);
    assert.equal(await env.redis.client.hget(jobKey(bench.benchId, id, 'long'), 'timeout'), null, "the queue's default: not stored");
    assert.equal((await readConfiguredJob(env.redis.client, bench, 'long', id))?.timeout, 1500);
    assert.deepEqual(await env.redis.client.lrange(laneKey(bench.benchId, 'long'), 0, -1), [id]);
    assert.equal(await env.redis.client.llen(laneKey(bench.benchId, 'default')), 0);
  });

  test('-q short uses the short queue (300 s)', async () => {
    const bench = env.newBench();
    const id = await enqueueOne(bench, ['-q', 'short']);
    assert.equal((await readConfiguredJob(env.redis.client, bench, 'short', id))?.timeout, 300);
    assert.deepEqual(await env.redis.client.lrange(laneKey(bench.benchId, 'short'), 0, -1), [id]);
  });

  test('--timeout 60 overrides the queue timeout, also on long', async () => {
    const bench = env.newBench();
    const a = await enqueueOne(bench, ['--timeout', '60']);
    const b = await enqueueOne(bench, ['--queue', 'long', '-t', '60']);
    assert.equal(await env.redis.client.hget(jobKey(bench.benchId, a), 'timeout'), '60');
    assert.equal(await env.redis.client.hget(jobKey(bench.benchId, b, 'long'), 'timeout'), '60');
  });

  test('custom queues from "workers" are accepted with their timeout (300 s when unset)', async () => {
    const bench = env.newBench({ common: { workers: { reports: { timeout: 42 }, misc: {}, long: { timeout: 2000 } } } });
    const a = await enqueueOne(bench, ['--queue', 'reports']);
    const b = await enqueueOne(bench, ['--queue', 'misc']);
    const c = await enqueueOne(bench, ['--queue', 'long']);
    assert.equal((await readConfiguredJob(env.redis.client, bench, 'reports', a))?.timeout, 42);
    assert.equal((await readConfiguredJob(env.redis.client, bench, 'misc', b))?.timeout, 300);
    assert.equal((await readConfiguredJob(env.redis.client, bench, 'long', c))?.timeout, 2000);
  });

  test('--job-id my:id is stored as site1.test||my|id', async () => {
    const bench = env.newBench();
    const id = await enqueueOne(bench, ['--job-id', 'my:id']);
    assert.equal(id, 'site1.test||my|id');
    assert.equal(await env.redis.client.hget(jobKey(bench.benchId, id), 'status'), 'queued');
    assert.deepEqual(await env.redis.client.lrange(laneKey(bench.benchId), 0, -1), [id]);
  });

  test('--job-name and --user are stored on the job', async () => {
    const bench = env.newBench();
    const id = await enqueueOne(bench, ['--job-name', 'Nightly echo', '--user', 'admin@example.com']);
    const hash = await env.redis.client.hgetall(jobKey(bench.benchId, id));
    assert.equal(hash['name'], 'Nightly echo');
    assert.equal(hash['user'], 'admin@example.com');
  });

  test("the site's failure TTL is stored on the job; the result TTL is not (the worker reads it when the job ends)", async () => {
    const bench = env.newBench({ common: { rq_results_ttl: 77 }, sites: { [SITE]: { rq_job_failure_ttl: 88 } } });
    const id = await enqueueOne(bench, []);
    const hash = await env.redis.client.hgetall(jobKey(bench.benchId, id));
    assert.equal(hash['rttl'], undefined);
    assert.equal(hash['fttl'], '88');
  });

  test('--json prints {id, queue}', async () => {
    const bench = env.newBench();
    const result = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--queue', 'long', '--json'], { cwd: bench.path });
    assertSuccess(result);
    const parsed = JSON.parse(result.stdout) as { id: string; queue: string };
    assert.equal(parsed.queue, 'long');
    assert.match(parsed.id, /^site1\.test\|\|/);
    assert.deepEqual(await env.redis.client.lrange(laneKey(bench.benchId, 'long'), 0, -1), [parsed.id]);
  });

  test('--at-front puts the job at the head of its site lane', async () => {
    const bench = env.newBench();
    const first = await enqueueOne(bench, []);
    const second = await enqueueOne(bench, []);
    const urgent = await enqueueOne(bench, ['--at-front']);
    assert.deepEqual(await env.redis.client.lrange(laneKey(bench.benchId), 0, -1), [urgent, first, second]);
  });

  test('other method paths: a nested module and a plain .js module', async () => {
    const bench = env.newBench();
    const deep = await runBench(['--site', SITE, 'enqueue', 'testapp.nested.deep.work', '--kwargs', '{"x":1}'], { cwd: bench.path });
    assertSuccess(deep);
    const plain = await runBench(['--site', SITE, 'enqueue', 'testapp.plain.hello'], { cwd: bench.path });
    assertSuccess(plain);
    assert.equal(await env.redis.client.hget(jobKey(bench.benchId, deep.stdout.trim()), 'method'), 'testapp.nested.deep.work');
    assert.equal(await env.redis.client.hget(jobKey(bench.benchId, plain.stdout.trim()), 'method'), 'testapp.plain.hello');
  });
});

describe('bench discovery', () => {
  test('run from a nested subfolder of the bench, the bench is found', async () => {
    const bench = env.newBench();
    const nested = path.join(bench.path, 'apps', 'testapp', 'testapp', 'nested');
    const id = await enqueueOne(bench, [], nested);
    assert.deepEqual(await env.redis.client.lrange(laneKey(bench.benchId), 0, -1), [id]);
  });

  test('--bench-path works from a folder outside any bench', async () => {
    const bench = env.newBench();
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'bw-elsewhere-'));
    try {
      const result = await runBench(['--bench-path', bench.path, '--site', SITE, 'enqueue', 'testapp.tasks.echo'], { cwd: elsewhere });
      assertSuccess(result);
      assert.deepEqual(await env.redis.client.lrange(laneKey(bench.benchId), 0, -1), [result.stdout.trim()]);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test('--bench-path wins over the bench around the current folder', async () => {
    const here = env.newBench();
    const there = env.newBench();
    const result = await runBench(['--bench-path', there.path, '--site', SITE, 'enqueue', 'testapp.tasks.echo'], { cwd: here.path });
    assertSuccess(result);
    assert.equal(await env.redis.client.llen(laneKey(there.benchId)), 1);
    assert.equal(await env.redis.client.llen(laneKey(here.benchId)), 0);
  });
});
