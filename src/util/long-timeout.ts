// setTimeout for any duration. Node's timers take at most 2^31-1 ms (24.8 days); a longer delay fires
// after 1 ms with only a warning, so a 30-day job timeout fired at once. This chains timers of at most
// that length, rechecking the clock at each link, until the whole delay has passed.
import { MAX_TIMER_MS } from './limits.js';

export interface LongTimeout {
  clear(): void;
}

/**
 * Call `fn` once `ms` have passed (Infinity: never). `unref`: the timer alone does not keep the process
 * alive. `maxLinkMs` is the longest single timer (Node's limit; smaller only in tests).
 */
export function setLongTimeout(fn: () => void, ms: number, options: { unref?: boolean; maxLinkMs?: number } = {}): LongTimeout {
  const maxLink = Math.min(options.maxLinkMs ?? MAX_TIMER_MS, MAX_TIMER_MS);
  const due = performance.now() + Math.max(0, ms);
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  // Each link waits for what is left, at most maxLink; the first is always asynchronous, as setTimeout.
  const arm = (left: number) => {
    timer = setTimeout(() => {
      if (cleared) return;
      const rest = due - performance.now();
      if (rest > 0) arm(rest);
      else fn();
    }, Math.min(Math.max(0, Math.ceil(left)), maxLink));
    if (options.unref) timer.unref();
  };
  if (due !== Infinity) arm(due - performance.now());
  return {
    clear() {
      cleared = true;
      clearTimeout(timer);
    },
  };
}
