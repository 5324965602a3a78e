// The abort-aware waits of the worker: they give way to a stop and keep nothing alive after they end.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { pause, unlessAborted } from '../../src/util/abortable.ts';

describe('unlessAborted', () => {
  it('resolves to the value and removes its abort listener', async () => {
    const stop = new AbortController();
    const waits = Array.from({ length: 1000 }, (_, i) => unlessAborted(Promise.resolve(i), stop.signal));
    assert.equal(getEventListeners(stop.signal, 'abort').length, 1000);
    assert.deepEqual((await Promise.all(waits)).slice(0, 3), [0, 1, 2]);
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0, 'no listener (and nothing it holds) outlives its wait');
  });

  it('resolves to undefined when the signal aborts first, and at once when it already has', async () => {
    const stop = new AbortController();
    const never = new Promise<number>(() => {});
    const wait = unlessAborted(never, stop.signal);
    stop.abort();
    assert.equal(await wait, undefined);
    assert.equal(await unlessAborted(never, stop.signal), undefined);
  });

  it('passes a rejection on', async () => {
    const stop = new AbortController();
    await assert.rejects(unlessAborted(Promise.reject(new Error('boom')), stop.signal), /boom/);
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
  });
});

describe('pause', () => {
  it('waits its time, or ends early on abort, leaving no listener', async () => {
    const stop = new AbortController();
    const started = performance.now();
    await pause(30, stop.signal);
    assert.ok(performance.now() - started >= 25);
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
    const long = pause(60_000, stop.signal);
    stop.abort();
    await long;
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
  });
});
