// `bench enqueue --kwargs-file FILE|-`: one job per JSON line, in order, all or nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { runBench } from '../helpers/cli.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { SITE, assertFailure, assertNothingWritten, assertSuccess, jobKey, laneKey } from './support.ts';

let redis: TestRedis;
let tmp: string;
const benches: TestBench[] = [];

before(async () => {
  redis = await startRedis();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'bw-kwargs-'));
});

after(async () => {
  for (const bench of benches) bench.remove();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  await redis?.stop();
});

function newBench(options: { common?: Record<string, unknown> } = {}): TestBench {
  const bench = makeBench({ redisUrl: redis.url, ...options });
  benches.push(bench);
  return bench;
}

let fileCount = 0;
function kwargsFile(text: string): string {
  const file = path.join(tmp, `kwargs-${++fileCount}.jsonl`);
  writeFileSync(file, text);
  return file;
}

const bulkArgs = (...rest: string[]) => ['--site', SITE, 'enqueue', 'testapp.tasks.echo', ...rest];

interface BulkOutput {
  count: number;
  queue: string;
  seconds: number;
  ids: string[];
}

/** The kwargs of every job in the site's lane, in list order. */
async function queuedKwargs(bench: TestBench, queue = 'default'): Promise<unknown[]> {
  const ids = await redis.client.lrange(laneKey(bench.benchId, queue), 0, -1);
  return Promise.all(ids.map(async (id) => JSON.parse((await redis.client.hget(jobKey(bench.benchId, id, queue), 'kwargs')) ?? 'null') as unknown));
}

describe('bench enqueue --kwargs-file', () => {
  test('3 lines (blank lines ignored) enqueue 3 jobs in order', async () => {
    const bench = newBench();
    const file = kwargsFile('{"n":1}\n\n   \n{"n":2}\n{"n":3}\n\n');
    const result = await runBench(bulkArgs('--kwargs-file', file, '--json'), { cwd: bench.path });
    assertSuccess(result);
    const out = JSON.parse(result.stdout) as BulkOutput;
    assert.equal(out.count, 3);
    assert.equal(out.queue, 'default');
    assert.equal(out.ids.length, 3);
    assert.deepEqual(await redis.client.lrange(laneKey(bench.benchId), 0, -1), out.ids);
    assert.deepEqual(await queuedKwargs(bench), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    for (const id of out.ids) {
      assert.match(id, /^site1\.test\|\|[A-Za-f][A-Za-z0-9_-]{21}$/);
      const hash = await redis.client.hgetall(jobKey(bench.benchId, id));
      assert.equal(hash['status'], 'queued');
      assert.equal(hash['method'], 'testapp.tasks.echo');
      assert.equal(hash['timeout'], undefined, "the queue's default timeout is not stored");
    }
  });

  test('each line is stored as its JSON was written; an empty object stores no kwargs field', async () => {
    const bench = newBench();
    const file = kwargsFile('  { "n" : 1, "s": "x y" }  \n{}\n');
    assertSuccess(await runBench(bulkArgs('--kwargs-file', file), { cwd: bench.path }));
    const ids = await redis.client.lrange(laneKey(bench.benchId), 0, -1);
    assert.equal(await redis.client.hget(jobKey(bench.benchId, ids[0] as string), 'kwargs'), '{ "n" : 1, "s": "x y" }');
    assert.equal(await redis.client.hget(jobKey(bench.benchId, ids[1] as string), 'kwargs'), null);
  });

  test('plain output says how many jobs were enqueued; options apply to every job', async () => {
    const bench = newBench();
    const file = kwargsFile('{"n":1}\r\n{"n":2}\r\n');
    const result = await runBench(bulkArgs('--kwargs-file', file, '--queue', 'long', '--timeout', '9', '--user', 'u1'), { cwd: bench.path });
    assertSuccess(result);
    assert.match(result.stdout, /^enqueued 2 jobs on long in \d+\.\d\d s\n$/);
    const ids = await redis.client.lrange(laneKey(bench.benchId, 'long'), 0, -1);
    assert.equal(ids.length, 2);
    for (const id of ids) {
      const hash = await redis.client.hgetall(jobKey(bench.benchId, id, 'long'));
      assert.equal(hash['timeout'], '9');
      assert.equal(hash['user'], 'u1');
    }
    assert.deepEqual(await queuedKwargs(bench, 'long'), [{ n: 1 }, { n: 2 }]);
  });

  test('--kwargs-file - reads stdin', async () => {
    const bench = newBench();
    const result = await runBench(bulkArgs('--kwargs-file', '-', '--json'), { cwd: bench.path, input: '{"a":"x"}\n{"a":"y"}\n' });
    assertSuccess(result);
    const out = JSON.parse(result.stdout) as BulkOutput;
    assert.equal(out.count, 2);
    assert.deepEqual(await redis.client.lrange(laneKey(bench.benchId), 0, -1), out.ids);
    assert.deepEqual(await queuedKwargs(bench), [{ a: 'x' }, { a: 'y' }]);
  });

  test('line 5 of 10 not JSON: nothing is enqueued and stderr says "line 5"', async () => {
    const bench = newBench();
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ i }));
    lines[4] = '{"i": 4,';
    const file = kwargsFile(`${lines.join('\n')}\n`);
    const result = await assertNothingWritten(redis, () => runBench(bulkArgs('--kwargs-file', file), { cwd: bench.path }));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_ENQUEUE_INVALID', `${file}: line 5`, 'not valid JSON'] });
    assert.equal(await redis.client.llen(laneKey(bench.benchId)), 0);
  });

  test('line 5 of 10 a JSON array: nothing is enqueued and stderr says "line 5"', async () => {
    const bench = newBench();
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ i }));
    lines[4] = '[1, 2, 3]';
    const file = kwargsFile(lines.join('\n'));
    const result = await assertNothingWritten(redis, () => runBench(bulkArgs('--kwargs-file', file), { cwd: bench.path }));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_ENQUEUE_INVALID', 'line 5', 'must be a JSON object'] });
  });

  test('line numbers count blank lines (the line of the file, not the entry)', async () => {
    const bench = newBench();
    const file = kwargsFile('{"i":1}\n\n{"i":2}\nnope\n');
    const result = await assertNothingWritten(redis, () => runBench(bulkArgs('--kwargs-file', file), { cwd: bench.path }));
    assertFailure(result, { exitCode: 1, stderr: ['line 4'] });
  });

  test('a bad line on stdin is reported as "stdin: line N"', async () => {
    const bench = newBench();
    const result = await assertNothingWritten(redis, () =>
      runBench(bulkArgs('--kwargs-file', '-'), { cwd: bench.path, input: '{"a":1}\n{"a":2}\n7\n' }),
    );
    assertFailure(result, { exitCode: 1, stderr: ['stdin: line 3'] });
  });

  test('one payload over max_job_payload_bytes: nothing is enqueued, stderr names its line of the file', async () => {
    const bench = newBench({ common: { max_job_payload_bytes: 100 } });
    // Blank lines before it: the third entry is on line 5.
    const file = kwargsFile(`{"n":1}\n\n{"n":2}\n\n${JSON.stringify({ s: 'x'.repeat(200) })}\n{"n":4}\n`);
    const result = await assertNothingWritten(redis, () => runBench(bulkArgs('--kwargs-file', file), { cwd: bench.path }));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_PAYLOAD_TOO_LARGE', `${file}: line 5`] });
    assert.ok(!result.stderr.includes('entry 3'), result.stderr);
  });

  test('a file larger than max_queued_jobs allows is refused whole: nothing is enqueued', async () => {
    const bench = newBench({ common: { max_queued_jobs: 550 } }); // + 50 for the one site: 600
    const file = kwargsFile(`${Array.from({ length: 2000 }, (_, i) => `{"i":${i}}`).join('\n')}\n`);
    const result = await assertNothingWritten(redis, () => runBench(bulkArgs('--kwargs-file', file), { cwd: bench.path }));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_QUEUE_OVERLOADED', 'limit 600', '2000 more jobs do not fit'] });
  });

  test('an empty file is refused', async () => {
    const bench = newBench();
    const file = kwargsFile('\n\n');
    const result = await assertNothingWritten(redis, () => runBench(bulkArgs('--kwargs-file', file), { cwd: bench.path }));
    assertFailure(result, { exitCode: 1, stderr: ['ERR_ENQUEUE_INVALID', 'no JSON lines'] });
  });

  test('a file that does not exist is refused', async () => {
    const bench = newBench();
    const missing = path.join(tmp, 'missing.jsonl');
    const result = await assertNothingWritten(redis, () => runBench(bulkArgs('--kwargs-file', missing), { cwd: bench.path }));
    assertFailure(result, { stderr: [missing, 'cannot be read'] });
  });

  test('--kwargs together with --kwargs-file is a usage error', async () => {
    const bench = newBench();
    const file = kwargsFile('{"n":1}\n');
    const result = await assertNothingWritten(redis, () => runBench(bulkArgs('--kwargs', '{"n":0}', '--kwargs-file', file), { cwd: bench.path }));
    assertFailure(result, { exitCode: 2, stderr: ['ERR_USAGE', '--kwargs', '--kwargs-file'] });
  });

  test('--job-id together with --kwargs-file is a usage error', async () => {
    const bench = newBench();
    const file = kwargsFile('{"n":1}\n');
    const result = await assertNothingWritten(redis, () => runBench(bulkArgs('--job-id', 'x', '--kwargs-file', file), { cwd: bench.path }));
    assertFailure(result, { exitCode: 2, stderr: ['ERR_USAGE', '--job-id'] });
  });

  test('100,000 lines: every job is enqueued, in order', { timeout: 120_000 }, async () => {
    // The whole request must fit under max_queued_jobs (default 500).
    const bench = newBench({ common: { max_queued_jobs: 200_000 } });
    const total = 100_000;
    const lines: string[] = [];
    for (let i = 0; i < total; i++) lines.push(`{"i":${i}}`);
    const file = kwargsFile(`${lines.join('\n')}\n`);

    const started = process.hrtime.bigint();
    const result = await runBench(bulkArgs('--kwargs-file', file), { cwd: bench.path, timeoutMs: 115_000 });
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    assertSuccess(result);
    const match = /^enqueued (\d+) jobs on default in (\d+\.\d+) s\n$/.exec(result.stdout);
    assert.ok(match, `unexpected output: ${result.stdout}`);
    assert.equal(Number(match[1]), total);

    const key = laneKey(bench.benchId);
    assert.equal(await redis.client.llen(key), total);
    const ids = await redis.client.lrange(key, 0, -1);
    assert.equal(new Set(ids).size, total, 'ids are unique');
    const pipeline = redis.client.pipeline();
    for (const id of ids) pipeline.hget(jobKey(bench.benchId, id), 'kwargs');
    const replies = (await pipeline.exec()) ?? [];
    assert.equal(replies.length, total);
    const outOfOrder = replies.findIndex(([err, kwargs], i) => err !== null || kwargs !== `{"i":${i}}`);
    assert.equal(outOfOrder, -1, `job at position ${outOfOrder} has kwargs ${String(replies[outOfOrder]?.[1])}`);
    const jobKeys = await redis.client.keys(`bw:{${bench.benchId}:default}:job:*`);
    assert.equal(jobKeys.length, total, 'one job hash per line');

    const enqueueSeconds = Number(match[2]);
    console.log(
      `[bulk] ${total} jobs: ${enqueueSeconds.toFixed(2)} s enqueue (${Math.round(total / enqueueSeconds)} jobs/s), ` +
        `${wallSeconds.toFixed(2)} s wall incl. process start (${Math.round(total / wallSeconds)} jobs/s)`,
    );
  });
});
