// Unit tests of the retry delays (src/queue/retry.ts nextRetryDelayMs): the exponential sequence
// delay * 2^(n-1) before retry n, fixed backoff, explicit intervals (the last one repeats), the ±25%
// jitter bounds, the defaults (2 s, exponential, jittered), the 365-day cap and the end of retries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextRetryDelayMs, retryPolicyJson } from '../../src/queue/retry.ts';
import type { RetryPolicy } from '../../src/vocabulary.ts';

const json = (policy: number | RetryPolicy) => retryPolicyJson(policy);
/** Delays (ms) before retries 1..count, without jitter unless `random` is given. */
function delays(policy: RetryPolicy, count: number, random?: () => number): (number | undefined)[] {
  const stored = json(policy);
  return Array.from({ length: count }, (_, done) => nextRetryDelayMs(stored, done, random));
}

describe('nextRetryDelayMs', () => {
  it('exponential backoff waits delay * 2^(n-1) seconds before retry n', () => {
    assert.deepEqual(delays({ max: 5, delay: 3, jitter: false }, 5), [3000, 6000, 12000, 24000, 48000]);
    assert.deepEqual(delays({ max: 3, delay: 1, backoff: 'exponential', jitter: false }, 3), [1000, 2000, 4000]);
  });

  it('defaults: 2 s base, exponential', () => {
    assert.deepEqual(delays({ max: 4, jitter: false }, 4), [2000, 4000, 8000, 16000]);
    // A bare count is a policy with the defaults; jitter on by default: random() = 0.5 is the middle.
    assert.equal(nextRetryDelayMs(json(3), 0, () => 0.5), 2000);
    assert.equal(nextRetryDelayMs(json(3), 2, () => 0.5), 8000);
  });

  it('fixed backoff waits delay every time', () => {
    assert.deepEqual(delays({ max: 4, delay: 5, backoff: 'fixed', jitter: false }, 4), [5000, 5000, 5000, 5000]);
    assert.deepEqual(delays({ max: 2, backoff: 'fixed', jitter: false }, 2), [2000, 2000]);
  });

  it('explicit intervals win over backoff; the last one repeats', () => {
    assert.deepEqual(delays({ max: 5, intervals: [1, 10, 60], backoff: 'exponential', delay: 7, jitter: false }, 5), [1000, 10000, 60000, 60000, 60000]);
  });

  it('jitter spreads a delay over ±25%, never beyond', () => {
    const policy = json({ max: 3, delay: 4, backoff: 'fixed' });
    assert.equal(nextRetryDelayMs(policy, 0, () => 0), 3000);
    assert.equal(nextRetryDelayMs(policy, 0, () => 0.999999), 5000);
    for (let i = 0; i < 500; i++) {
      const ms = nextRetryDelayMs(policy, 1) as number;
      assert.ok(ms >= 3000 && ms <= 5000, `${ms} ms is outside 4000 ± 25%`);
    }
    // Jitter applies to intervals and exponential delays as well.
    assert.equal(nextRetryDelayMs(json({ max: 2, intervals: [8] }), 1, () => 0), 6000);
    assert.equal(nextRetryDelayMs(json({ max: 3, delay: 2 }), 2, () => 0.999999), 10000);
  });

  it('is undefined once max retries were done, or without a policy', () => {
    const stored = json({ max: 2, jitter: false });
    assert.equal(nextRetryDelayMs(stored, 1), 4000);
    assert.equal(nextRetryDelayMs(stored, 2), undefined);
    assert.equal(nextRetryDelayMs(stored, 3), undefined);
    assert.equal(nextRetryDelayMs(undefined, 0), undefined);
    assert.equal(json(0), undefined, 'max 0 stores no policy');
  });

  it('caps a delay at 365 days', () => {
    assert.equal(nextRetryDelayMs(json({ max: 100, delay: 60, jitter: false }), 60), 365 * 24 * 3600 * 1000);
  });
});
