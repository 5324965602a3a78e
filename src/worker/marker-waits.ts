// The blocking wait for work of a worker listening to several queues on a Redis Cluster. On one server
// a single BZPOPMIN watches every queue's marker; on a Cluster each queue's marker lives in its own slot
// (often on another shard), and one BZPOPMIN cannot span slots. So each queue gets its own blocking
// connection with one BZPOPMIN outstanding, and a wait ends when any of them pops a marker (or at its
// timeout). A pop still outstanding when a wait ends stays outstanding: the next wait reuses it, and
// when it pops meanwhile, that wait ends at once. A marker is popped only as a wake-up (the claim reads
// the lanes), so a pop nobody waits for any more costs one spurious claim at most.
//
// Connections: the first queue uses the worker's blocking connection, the others its duplicates, since
// a blocking command holds its node connection and would make another queue's pop on the same node
// wait behind it. The duplicates end with the connection they were made from.
import { setTimeout as delay } from 'node:timers/promises';
import type { Cluster } from 'ioredis';

const waitsByConnection = new WeakMap<Cluster, MarkerWaits>();

/** The marker waits of blocking connection `client` (made on first use). */
export function markerWaitsOf(client: Cluster): MarkerWaits {
  let waits = waitsByConnection.get(client);
  if (!waits) {
    waits = new MarkerWaits(client);
    waitsByConnection.set(client, waits);
  }
  return waits;
}

export class MarkerWaits {
  private readonly connections = new Map<string, Cluster>();
  private readonly outstanding = new Map<string, Promise<boolean>>();

  constructor(private readonly primary: Cluster) {
    primary.once('end', () => {
      for (const connection of this.connections.values()) if (connection !== primary) connection.disconnect();
      this.connections.clear();
    });
  }

  /**
   * Resolve true as soon as the marker of one of `markers` pops, false after `seconds` without one.
   * Rejects when a pop fails (the caller replaces the primary connection, and with it the others).
   */
  async wait(markers: readonly string[], seconds: number): Promise<boolean> {
    const pops = markers.map((marker) => this.popOf(marker, seconds));
    const timer = new AbortController();
    try {
      return await Promise.race([...pops, delay(seconds * 1000, false, { signal: timer.signal })]);
    } finally {
      timer.abort();
    }
  }

  private popOf(marker: string, seconds: number): Promise<boolean> {
    let pop = this.outstanding.get(marker);
    if (!pop) {
      pop = this.connectionOf(marker)
        .bzpopmin(marker, seconds)
        .then((reply) => reply !== null)
        .finally(() => this.outstanding.delete(marker));
      // Its failure reaches the wait that races it; one nobody waits for must not be unhandled.
      pop.catch(() => {});
      this.outstanding.set(marker, pop);
    }
    return pop;
  }

  private connectionOf(marker: string): Cluster {
    let connection = this.connections.get(marker);
    if (!connection) {
      connection = this.connections.size === 0 ? this.primary : this.primary.duplicate();
      this.connections.set(marker, connection);
    }
    return connection;
  }
}
