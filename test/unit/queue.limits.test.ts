// Every number the enqueue API takes has a range, checked before anything connects: a job timeout up to
// 30 days (the most the worker's timers are built for), a schedule up to 100 years ahead, a retry policy
// with bounded counts and waits; and the one range check behind them says what it wanted and found.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { BenchError } from '../../src/errors.ts';
import { nextRetryDelayMs, retryPolicyJson } from '../../src/queue/retry.ts';
import { checkRange, describeRange, inRange, JOB_TIMEOUT_RANGE, wholeRange } from '../../src/util/limits.ts';
import type { EnqueueOptions } from '../../src/vocabulary.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';

const SITE = 'site1.test';
const DAY = 24 * 3600;
let bench: TestBench;
let client: BenchClient;

before(async () => {
  // Nothing listens on port 1: a call that got past validation would fail with ERR_REDIS_UNAVAILABLE.
  bench = makeBench({ redisUrl: 'redis://127.0.0.1:1' });
  client = await BenchClient.open({ benchPath: bench.path, lazyConnect: true });
});

after(async () => {
  await client.close();
  bench.remove();
});

function refused(options: Partial<EnqueueOptions>, pattern: RegExp) {
  return assert.rejects(client.enqueue('testapp.tasks.echo', { site: SITE, ...options } as EnqueueOptions), (err: unknown) => {
    assert.ok(err instanceof BenchError, String(err));
    assert.equal(err.code, 'ERR_ENQUEUE_INVALID', err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('enqueue options out of range are refused before Redis', () => {
  const cases: [string, Partial<EnqueueOptions>, RegExp][] = [
    ['timeout over 30 days', { timeout: 30 * DAY + 1 }, /timeout must be a number of seconds greater than 0 and at most 2592000 \(30 days\), found 2592001/],
    ['timeout 0', { timeout: 0 }, /timeout must be/],
    ['timeout as a string', { timeout: '60' as unknown as number }, /found "60" \(a string\)/],
    ['timeout NaN', { timeout: Number.NaN }, /found NaN/],
    ['timeout as an object', { timeout: {} as unknown as number }, /found an object$/],
    ['inSeconds over 100 years', { inSeconds: 100 * 365 * DAY + 1 }, /inSeconds must be a number of seconds from 0 to 3153600000 \(100 years\)/],
    ['inSeconds negative', { inSeconds: -1 }, /inSeconds must be/],
    ['at over 100 years ahead', { at: new Date(Date.now() + 101 * 365 * DAY * 1000) }, /at must be at most 100 years ahead/],
    ['retry max over 1000', { retry: 1001 }, /retry: max must be a whole number from 0 to 1000/],
    ['retry with 101 intervals', { retry: { max: 2, intervals: new Array<number>(101).fill(1) } }, /intervals must be a list of 1 to 100 waits/],
    ['retry interval over 365 days', { retry: { max: 2, intervals: [1, 365 * DAY + 1] } }, /intervals must be/],
    ['retry delay over 365 days', { retry: { max: 2, delay: 365 * DAY + 1 } }, /retry: delay must be/],
  ];
  for (const [name, options, pattern] of cases) test(name, () => refused(options, pattern));

  test('control: 30 days exactly passes validation (and then needs Redis)', async () => {
    await assert.rejects(client.enqueue('testapp.tasks.echo', { site: SITE, timeout: 30 * DAY }), (err: unknown) => err instanceof BenchError && err.code === 'ERR_REDIS_UNAVAILABLE');
  });

  test('stopJob and waitForJob bound their waits too', async () => {
    await assert.rejects(client.stopJob(SITE, 'x', -1), (err: unknown) => err instanceof BenchError && err.code === 'ERR_USAGE');
    await assert.rejects(client.waitForJob(SITE, 'x', { timeout: 400 * DAY }), (err: unknown) => err instanceof BenchError && err.code === 'ERR_USAGE');
  });
});

describe('retry waits', () => {
  test('an exponential backoff stops growing at 365 days', () => {
    const policy = retryPolicyJson({ max: 1000, delay: 60, jitter: false });
    assert.equal(nextRetryDelayMs(policy, 999), 365 * DAY * 1000);
    assert.equal(nextRetryDelayMs(policy, 2), 240_000);
  });
});

describe('checkRange', () => {
  test('whole numbers, bounds included', () => {
    const range = wholeRange(1, 10);
    assert.equal(describeRange(range), 'a whole number from 1 to 10');
    assert.ok(inRange(1, range) && inRange(10, range));
    for (const bad of [0, 11, 1.5, Number.NaN, Infinity, '5', null]) assert.equal(inRange(bad, range), false, String(bad));
  });

  test('seconds greater than 0: the minimum itself is refused', () => {
    assert.equal(inRange(0, JOB_TIMEOUT_RANGE), false);
    assert.ok(inRange(0.001, JOB_TIMEOUT_RANGE));
  });

  test('the error names what, the range and what was found (the text as given on a command line)', () => {
    assert.throws(() => checkRange(Number('12x'), '--limit', wholeRange(1, 10), 'ERR_USAGE', { exitCode: 2, given: '12x' }), (err: unknown) => {
      assert.ok(err instanceof BenchError);
      assert.equal(err.exitCode, 2);
      assert.equal(err.message, '--limit must be a whole number from 1 to 10, found "12x"');
      return true;
    });
  });
});
