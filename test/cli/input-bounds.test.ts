// What the command line takes is bounded: job ids (length, control characters), number flags (a range
// each: a 30-day --timeout is the most, and works), --queue lists (an empty one once meant every queue),
// --site names; and what it prints never carries a raw control character, even for a job written to
// Redis before ids were checked.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runBench } from '../helpers/cli.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { SITE, assertFailure, assertNothingWritten, assertSuccess, jobKey, legacyWaitKey } from './support.ts';

const env = useRedisBenches();
const THIRTY_DAYS = 30 * 24 * 3600;

describe('job ids', () => {
  for (const [what, id] of [
    ['201 characters', 'j'.repeat(201)],
    ['a newline', 'a\nb'],
    ['an escape sequence', 'a\u001b[2Jb'],
  ] as const) {
    test(`--job-id of ${what} is refused naming the rule; nothing is written, nothing raw is printed`, async () => {
      const bench = env.newBench();
      const result = await assertNothingWritten(env.redis, () => runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--job-id', id], { cwd: bench.path }));
      assertFailure(result, { exitCode: 1, stderr: ['ERR_ENQUEUE_INVALID', 'jobId', '1 to 200 characters, no control characters or newlines'] });
      assert.doesNotMatch(result.stderr, /[\u001b]|a\nb/, 'the id reached stderr raw');
    });
  }

  test('--job-id of 200 characters is taken', async () => {
    const bench = env.newBench();
    const result = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--job-id', 'j'.repeat(200)], { cwd: bench.path });
    assertSuccess(result);
    assert.equal(result.stdout.trim(), `${SITE}||${'j'.repeat(200)}`);
  });

  test('jobs show with an id holding a newline is a usage error', async () => {
    const bench = env.newBench();
    assertFailure(await runBench(['jobs', 'show', `${SITE}||a\nb`], { cwd: bench.path }), { exitCode: 2, stderr: ['ERR_USAGE', 'a\\nb'] });
  });

  test('a job written before ids were checked is listed escaped, on one line', async () => {
    const bench = env.newBench();
    const id = `${SITE}||evil\u001b[2J\nrow`;
    await env.redis.client.rpush(legacyWaitKey(bench.benchId), id);
    await env.redis.client.hset(jobKey(bench.benchId, id), 'method', 'testapp.tasks.echo', 'status', 'queued', 'enq', String(Date.now()));
    const list = await runBench(['jobs', 'list'], { cwd: bench.path });
    assertSuccess(list);
    assert.doesNotMatch(list.stdout, /\u001b/);
    const lines = list.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, `header, one row, footer:\n${list.stdout}`);
    assert.ok(lines[1]?.startsWith(`${SITE}||evil\\x1b[2J\\nrow`), lines[1]);
    const json = await runBench(['jobs', 'list', '--json'], { cwd: bench.path });
    assert.equal((JSON.parse(json.stdout) as { jobs: { id: string }[] }).jobs[0]?.id, id, '--json keeps the id exact');
  });
});

describe('number flags have a range', () => {
  for (const args of [
    ['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--timeout', String(THIRTY_DAYS + 1)],
    ['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--in', String(100 * 365 * 24 * 3600 + 1)],
    ['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--retry', '1001'],
    ['worker', '--burst', '--num-workers', '1025'],
    ['worker', '--burst', '--concurrency', '1001'],
    ['jobs', 'list', '--limit', '10001'],
    ['jobs', 'list', '--offset', '-1'],
  ]) {
    const flag = args.find((a) => a.startsWith('--') && a !== '--site' && a !== '--burst') as string;
    test(`${flag} ${args[args.indexOf(flag) + 1]} is a usage error naming the flag and its range`, async () => {
      const bench = env.newBench();
      const result = await assertNothingWritten(env.redis, () => runBench(args, { cwd: bench.path }));
      assertFailure(result, { exitCode: 2, stderr: ['ERR_USAGE', `${flag} must be`, ' to ', `"${args[args.indexOf(flag) + 1]}"`] });
    });
  }

  test('--site that is not a site name is refused, also where it only filters', async () => {
    const bench = env.newBench();
    for (const args of [['--site', '../etc', 'enqueue', 'testapp.tasks.echo'], ['--site', 'a\u001bb', 'jobs', 'list']]) {
      const result = await runBench(args, { cwd: bench.path });
      assertFailure(result, { exitCode: 1, stderr: ['ERR_SITE_NOT_FOUND', 'is not a valid site name'] });
      assert.doesNotMatch(result.stderr, /\u001b/);
    }
  });

  test('a 30-day --timeout (Node timers stop at 24.8 days) is taken, and the job runs past the grace period', { timeout: 60_000 }, async () => {
    const bench = env.newBench({ common: { job_timeout_grace: 1 } });
    const enqueued = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.sleep', '--kwargs', '{"ms":2500}', '--timeout', String(THIRTY_DAYS), '--json'], { cwd: bench.path });
    assertSuccess(enqueued);
    const { id } = JSON.parse(enqueued.stdout) as { id: string };
    assert.equal(await env.redis.client.hget(jobKey(bench.benchId, id), 'timeout'), String(THIRTY_DAYS));
    assert.equal((await runBench(['worker', '--burst', '--quiet'], { cwd: bench.path, timeoutMs: 45_000 })).code, 0);
    const shown = JSON.parse((await runBench(['jobs', 'show', id, '--json'], { cwd: bench.path })).stdout) as { status: string; result: unknown };
    assert.deepEqual([shown.status, shown.result], ['finished', 'slept']);
  });
});

describe('bench worker --queue', () => {
  for (const value of ['', ',', ' , ', 'short,,default', 'short,']) {
    test(`--queue ${JSON.stringify(value)} is a usage error, not "every queue"`, async () => {
      const bench = env.newBench();
      const result = await runBench(['worker', '--burst', '--queue', value], { cwd: bench.path });
      assertFailure(result, { exitCode: 2, stderr: ['ERR_USAGE', '--queue needs queue names'] });
    });
  }

  test('a queue named twice is a usage error', async () => {
    const bench = env.newBench();
    assertFailure(await runBench(['worker', '--burst', '--queue', 'short,short'], { cwd: bench.path }), { exitCode: 2, stderr: ['--queue names "short" twice'] });
  });

  test('control: --queue short,default --burst runs and exits 0', async () => {
    const bench = env.newBench();
    assert.equal((await runBench(['worker', '--burst', '--quiet', '--queue', ' short , default'], { cwd: bench.path })).code, 0);
  });
});
