// Waits that give way to an AbortSignal without leaking. `Promise.race([work, stopPromise])` against a
// promise that settles only at shutdown adds a reaction to it on every call, and each reaction keeps
// its `work` (a claim's reply, a timer) alive until shutdown: memory that grows with every job. These
// helpers listen on the signal only while the wait lasts and remove the listener when it ends.

/**
 * `promise`'s value, or `undefined` as soon as `signal` aborts (a rejection of `promise` still
 * rejects). The abort listener is removed when either happens, so nothing outlives the wait.
 */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Wait `ms`, or less when `signal` aborts first; never rejects. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
