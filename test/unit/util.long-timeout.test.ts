// setLongTimeout: a delay past Node's timer limit (2^31-1 ms, 24.8 days) is chained, not fired at once.
// The links are shortened here (maxLinkMs) so that chaining shows in milliseconds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setLongTimeout } from '../../src/util/long-timeout.ts';

function fired(ms: number, maxLinkMs?: number): Promise<number> {
  const start = performance.now();
  return new Promise((resolve) => setLongTimeout(() => resolve(performance.now() - start), ms, maxLinkMs === undefined ? {} : { maxLinkMs }));
}

describe('setLongTimeout', () => {
  test('a delay of several links fires once the whole delay has passed, not after the first link', async () => {
    const elapsed = await fired(120, 25);
    assert.ok(elapsed >= 119, `fired after ${elapsed} ms`);
  });

  test('0 and negative delays fire asynchronously, as setTimeout does', async () => {
    let called = false;
    const done = new Promise<void>((resolve) => setLongTimeout(() => ((called = true), resolve()), -5));
    assert.equal(called, false);
    await done;
  });

  test('clear() stops it between links', async () => {
    let called = false;
    const timer = setLongTimeout(() => (called = true), 60, { maxLinkMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 25));
    timer.clear();
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(called, false);
  });

  test('30 days is armed without a TimeoutOverflowWarning (which means Node fired it after 1 ms)', async () => {
    const warnings: string[] = [];
    const listener = (w: Error) => warnings.push(w.name);
    process.on('warning', listener);
    let called = false;
    const timer = setLongTimeout(() => (called = true), 30 * 24 * 3600 * 1000, { unref: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    timer.clear();
    process.off('warning', listener);
    assert.equal(called, false);
    assert.deepEqual(warnings.filter((name) => name === 'TimeoutOverflowWarning'), []);
  });

  test('Infinity never fires', () => {
    setLongTimeout(() => assert.fail('fired'), Infinity).clear();
  });
});
