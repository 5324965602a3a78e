// `bench enqueue --kwargs-file` cut short by Redis (out of memory part way): the command exits non-zero,
// says how many jobs went in and the first line that did not, with no stack trace; `--resume TOKEN`
// then writes exactly the rest, each line once. A token for another file, or an unknown one, is refused.
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
  tmp = mkdtempSync(path.join(os.tmpdir(), 'bw-resume-'));
});

after(async () => {
  await redis?.client.config('SET', 'maxmemory', '0').catch(() => {});
  for (const bench of benches) bench.remove();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  await redis?.stop();
});

function newBench(): TestBench {
  const bench = makeBench({ redisUrl: redis.url, common: { max_queued_jobs: 1_000_000 } });
  benches.push(bench);
  return bench;
}

/** A kwargs file of `lines` jobs, {"n": 1..lines} with some padding, and a blank line after the first. */
function kwargsFile(name: string, lines: number, pad = 'x'.repeat(300)): string {
  const file = path.join(tmp, name);
  const rows = Array.from({ length: lines }, (_, i) => JSON.stringify({ n: i + 1, pad }));
  rows.splice(1, 0, '');
  writeFileSync(file, `${rows.join('\n')}\n`);
  return file;
}

const args = (...rest: string[]) => ['--site', SITE, 'enqueue', 'testapp.tasks.echo', ...rest];

/** The n of every queued job, in queue order. */
async function queuedNumbers(bench: TestBench): Promise<number[]> {
  const ids = await redis.client.lrange(laneKey(bench.benchId), 0, -1);
  const kwargs = await Promise.all(ids.map((id) => redis.client.hget(jobKey(bench.benchId, id), 'kwargs')));
  return kwargs.map((text) => (JSON.parse(text ?? 'null') as { n: number }).n);
}

describe('bench enqueue --kwargs-file, cut short and resumed', () => {
  test('Redis out of memory part way: exit 1 with the count and the first line not enqueued; --resume writes exactly the rest', async () => {
    const bench = newBench();
    const lines = 6000;
    const file = kwargsFile('big.jsonl', lines);
    // Room for roughly a third of the file's jobs (each job takes about 0.5 KiB here).
    const used = Number(/used_memory:(\d+)/.exec(await redis.client.info('memory'))?.[1]);
    await redis.client.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.client.config('SET', 'maxmemory', String(used + 1024 * 1024));
    let cut;
    try {
      cut = await runBench(args('--kwargs-file', file), { cwd: bench.path });
    } finally {
      await redis.client.config('SET', 'maxmemory', '0');
    }
    assertFailure(cut, { exitCode: 1, stderr: ['ERR_ENQUEUE_INCOMPLETE', `of ${lines} jobs were enqueued`, 'OOM'] });
    assert.doesNotMatch(cut.stderr, /\n\s+at /, 'no stack trace');
    const count = Number(/: (\d+) of 6000 jobs were enqueued/.exec(cut.stderr)?.[1]);
    const token = /--resume ([0-9a-f]{16})/.exec(cut.stderr)?.[1];
    assert.ok(count > 0 && count < lines, `a part went in: ${cut.stderr}`);
    assert.ok(token, `the resume token is given: ${cut.stderr}`);
    // The jobs written are the file's first ones, and the line named is the first one not written
    // (file line = n + 1 from the second job on: a blank line follows the first).
    assert.deepEqual(await queuedNumbers(bench), Array.from({ length: count }, (_, i) => i + 1));
    assert.match(cut.stderr, new RegExp(`${file.replaceAll('.', '\\.')}: line ${count + 2} and those after it were not`));

    const resumed = await runBench(args('--kwargs-file', file, '--resume', token as string), { cwd: bench.path });
    assertSuccess(resumed);
    assert.match(resumed.stdout, new RegExp(`^enqueued ${lines - count} jobs on default in [\\d.]+ s \\(resumed: ${count} were enqueued before\\)\\n$`));
    assert.deepEqual(await queuedNumbers(bench), Array.from({ length: lines }, (_, i) => i + 1));

    // Resuming again writes nothing more.
    const again = await runBench(args('--kwargs-file', file, '--resume', token as string), { cwd: bench.path });
    assertSuccess(again);
    assert.match(again.stdout, /^enqueued 0 jobs on default/);
    assert.equal(await redis.client.llen(laneKey(bench.benchId)), lines);
  });

  test('a resume token is refused for another file, and when unknown: nothing is written', async () => {
    const bench = newBench();
    const file = kwargsFile('a.jsonl', 1500);
    const token = '0123456789abcdef';
    // The progress of a run of a.jsonl that stopped after its first call.
    const progress = `bw:{${bench.benchId}:default}:bulk:${token}`;
    const unknown = await assertNothingWritten(redis, () => runBench(args('--kwargs-file', file, '--resume', token), { cwd: bench.path }));
    assertFailure(unknown, { exitCode: 1, stderr: ['ERR_RESUME_INVALID', `resume token "${token}" is unknown on queue "default"`] });
    await redis.client.hset(progress, 'next', '1000', 'digest', 'of-another-request');
    const other = await assertNothingWritten(redis, () => runBench(args('--kwargs-file', file, '--resume', token), { cwd: bench.path }));
    assertFailure(other, { exitCode: 1, stderr: ['ERR_RESUME_INVALID', 'belongs to a different request'] });
    const malformed = await runBench(args('--kwargs-file', file, '--resume', 'nope'), { cwd: bench.path });
    assertFailure(malformed, { exitCode: 1, stderr: ['ERR_RESUME_INVALID', '16 hex digits'] });
    const noFile = await runBench(args('--kwargs', '{}', '--resume', token), { cwd: bench.path });
    assertFailure(noFile, { exitCode: 2, stderr: ['--resume finishes a --kwargs-file run'] });
  });
});
