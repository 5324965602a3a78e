// Failpoints: named places in a worker process where it can be made to die at once (SIGKILL of itself),
// to prove that no step of the protocol loses or doubles a job. Off unless BENCH_FAILPOINT names one;
// with BENCH_FAILPOINT_ONCE=<file>, only the first process to reach it dies (it creates the file), so
// that the processes started in its place run on. For tests and chaos drills, never for production.
import { closeSync, openSync } from 'node:fs';

export type Failpoint =
  /** A claim's reply arrived; none of its jobs started. */
  | 'after-claim'
  /** A fetch call that ends jobs was sent; its reply has not arrived. */
  | 'ending-in-flight'
  /** A claimed job went to the prefetch queue, not started. */
  | 'prefetched';

const ARMED = process.env['BENCH_FAILPOINT'];
const ONCE = process.env['BENCH_FAILPOINT_ONCE'];

/** Die here if this failpoint is armed (and, with a once-file, if no process died at it yet). */
export function failpoint(name: Failpoint): void {
  if (ARMED !== name) return;
  if (ONCE) {
    try {
      closeSync(openSync(ONCE, 'wx'));
    } catch {
      return;
    }
  }
  process.kill(process.pid, 'SIGKILL');
}
