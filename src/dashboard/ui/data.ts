// A hook that loads an API path and reloads it when live events say something changed (at most once
// a second: the server batches its `changed` events), or when the path changes.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api.js';
import { subscribe } from './live.js';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  reload(): void;
}

/** `queues`: reload only when one of them changed (undefined: on any change). */
export function useApi<T>(path: string, options: { live?: boolean; queues?: readonly string[] } = {}): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    get<T>(path).then(
      (value) => {
        if (!alive) return;
        setData(value);
        setError(undefined);
      },
      (err: unknown) => alive && setError(err instanceof ApiError ? err : new ApiError(0, 'ERR_NETWORK', String(err))),
    );
    return () => {
      alive = false;
    };
  }, [path, tick]);
  useEffect(() => {
    if (options.live === false) return undefined;
    return subscribe({
      changed: (queues) => {
        if (queues.length === 0 || !options.queues || queues.some((q) => options.queues?.includes(q))) setTick((t) => t + 1);
      },
    });
  }, [path, options.live, options.queues?.join(',')]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}
