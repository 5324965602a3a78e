// Keeps a long-lived subscriber connection honest. A connection in pub/sub mode sends nothing of its own,
// and its role ('blocking') has no socket timeout, so a connection that a silent network stall (no FIN,
// no RST) left dead would wait for messages for ever: a supervisor would never hear stop-job again, a
// waitForJob never wake. So every subscriber PINGs (allowed in subscribe mode) every few seconds; one
// that gets no answer in time, or whose reconnect's handshake gets none, has its socket dropped, and
// ioredis reconnects (with its role's backoff) and subscribes again to its channels (autoResubscribe),
// emitting 'ready' once back: a subscriber that may have missed messages meanwhile reacts to that.
// Every subscriber of the code base goes through here (control.ts, queue/job-waiter.ts, the dashboard's).
import type { Redis as ServerClient } from 'ioredis';
import type { Redis } from './client-type.js';
import { isCluster } from './cluster.js';

/** How often a subscriber is checked (a PING sent). */
export const SUBSCRIBER_PING_MS = 5000;
/** How long a PING (or a reconnect's handshake) may go unanswered before the socket is dropped. */
export const SUBSCRIBER_DEADLINE_MS = 5000;

export interface KeepAliveOptions {
  everyMs?: number;
  deadlineMs?: number;
}

/**
 * Watch `client` (a dedicated subscriber connection) until it is closed (status 'end') or the returned
 * function is called; see the header. A dead connection is noticed within everyMs + deadlineMs. A Redis
 * Cluster client is left alone: its subscriber connection is ioredis' own, out of reach here.
 */
export function keepSubscriberAlive(client: Redis, options: KeepAliveOptions = {}): () => void {
  if (isCluster(client)) return () => undefined;
  const everyMs = options.everyMs ?? SUBSCRIBER_PING_MS;
  const deadlineMs = options.deadlineMs ?? SUBSCRIBER_DEADLINE_MS;
  let pinging = false;
  let connectedAt = 0;
  const onConnect = () => (connectedAt = Date.now());
  client.on('connect', onConnect);
  const check = async (): Promise<void> => {
    if (client.status === 'connect' && connectedAt > 0 && Date.now() - connectedAt > deadlineMs) {
      drop(client, `no answer to the handshake of a subscriber connection within ${deadlineMs} ms`);
      return;
    }
    if (client.status !== 'ready' || pinging) return;
    pinging = true;
    try {
      if (!(await answered(client.ping(), deadlineMs))) drop(client, `no answer to PING on a subscriber connection within ${deadlineMs} ms`);
    } finally {
      pinging = false;
    }
  };
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    client.off('connect', onConnect);
    client.off('end', stop);
  };
  client.on('end', stop);
  return stop;
}

/**
 * Whether `reply` settles (an error counts: the connection is closing, ioredis handles that) within `ms`.
 * The deadline is checked once more after the poll phase, so that a reply that came while this process was
 * busy (its timers late) is read before it counts as missing.
 */
async function answered(reply: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => setImmediate(() => resolve(false)), ms);
  });
  try {
    return await Promise.race([reply.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Drop the socket: ioredis sees it close, reconnects and subscribes again. */
function drop(client: ServerClient, why: string): void {
  client.stream.destroy(new Error(why));
}
