// Coalesces the commands a client sends in one event-loop turn into one socket write: the first
// command of a turn corks the connection's socket and a process.nextTick uncorks it. On this class of
// machine a write system call costs more than a small script's own Redis time, so the calls of one
// turn (enqueues to several queues, a claim and a finish) go out as one write. (ioredis's enableAutoPipelining does the same job through
// a pipeline object per turn and measured slower here.) Replies and errors are unaffected: each command
// keeps its own promise.
import type { Redis } from './client-type.js';

const corked = new WeakSet<object>();

/** Cork `client`'s socket until the end of this turn (no-op when it is corked already or not connected). */
export function corkForThisTurn(client: Redis): void {
  // A Cluster has a connection per node and pipelines each node's commands itself (enableAutoPipelining).
  if (!('stream' in client)) return;
  const stream = client.stream as { cork?: () => void; uncork?: () => void } | undefined;
  if (!stream || typeof stream.cork !== 'function' || corked.has(stream) || client.status !== 'ready') return;
  corked.add(stream);
  stream.cork();
  process.nextTick(() => {
    corked.delete(stream);
    stream.uncork?.();
  });
}
