// "Ready" means Redis answers commands: not still loading its dataset after a restart. ioredis checks
// it with INFO on every connect, and for an ACL user without +info it prints "Skipping the ready
// check" with console.warn on each connection. So clients are made with ioredis' check off, and
// after the first connect this module runs it once itself: when INFO is allowed, it waits out the
// loading and turns ioredis' check on for the reconnects; when the user may not run INFO, the check
// stays off (ioredis would skip it too) and nothing is printed.
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from './client-type.js';
import { aclRefusal } from './reply-errors.js';

/** Longest wait between two looks at a loading server (its own estimate may be longer). */
const MAX_LOADING_POLL_MS = 1000;

/** Resolve once Redis has loaded its dataset (the caller bounds the wait); see the header. */
export async function checkReady(client: Redis): Promise<void> {
  for (;;) {
    let info: string;
    try {
      info = await client.info('persistence');
    } catch (err) {
      if (err instanceof Error && aclRefusal(err.message) !== undefined) return;
      throw err;
    }
    const loading = field(info, 'loading');
    if (loading === undefined || loading === '0') break;
    const etaSeconds = Number(field(info, 'loading_eta_seconds') ?? 1);
    await delay(Math.min(MAX_LOADING_POLL_MS, Math.max(50, (Number.isFinite(etaSeconds) ? etaSeconds : 1) * 1000)));
  }
  client.options.enableReadyCheck = true;
}

function field(info: string, name: string): string | undefined {
  const match = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}
