// A TCP proxy in front of the test Redis that can stall, cut or slow down connections: a silent
// partition (no FIN/RST: bytes just stop), a hard break, or a fixed delay each way, without root or
// iptables. A fault can hit every connection or only those of given processes (see localPortsOf).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';

/** One direction of a proxied connection: bytes go out in order, each `delayMs` after it came in. */
class Link {
  private readonly queue: { due: number; buf: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly to: net.Socket,
    private readonly delayMs: () => number,
  ) {}

  push(buf: Buffer): void {
    const delay = this.delayMs();
    if (delay === 0 && this.queue.length === 0) {
      this.to.write(buf);
      return;
    }
    this.queue.push({ due: Date.now() + delay, buf });
    this.schedule();
  }

  /** Drop what is waiting to go out. */
  clear(): void {
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.timer !== undefined || head === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      while (this.queue[0] !== undefined && this.queue[0].due <= Date.now()) {
        const { buf } = this.queue.shift() as { buf: Buffer };
        if (!this.to.destroyed) this.to.write(buf);
      }
      this.schedule();
    }, Math.max(0, head.due - Date.now()));
  }
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** The client's own port (its end of the connection): which process opened it, see localPortsOf. */
  clientPort: number;
  links: Link[];
}

/** Which connections a fault hits: every one, or those whose client end is one of these ports. */
export type ConnectionFilter = ReadonlySet<number> | undefined;

export class FaultProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private delayMs = 0;
  port = 0;
  /** While true, new connections are accepted but nothing passes either way (a partition hit mid-handshake). */
  stallNew = false;
  /** Connections accepted while stallNew was set. */
  stalledAccepts = 0;
  /** While true, new connections are reset as soon as they are accepted (a host that refuses them). */
  refuseNew = false;
  /** Bytes passed on from clients to Redis so far. */
  bytesToRedis = 0;
  private armedCut: { remaining: number; done: () => void } | undefined;
  private armedReplyCut: { only: ConnectionFilter; which: (reply: Buffer) => boolean; done: () => void } | undefined;

  constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Delay every chunk `ms` each way from now on, on open connections too (0: no delay); order is kept. */
  latency(ms: number): void {
    this.delayMs = ms;
  }

  /** Freeze open connections (new ones still pass): looks like a silent network partition. */
  stallExisting(only?: ConnectionFilter): void {
    for (const pair of this.selected(only)) {
      const { client, upstream } = pair;
      client.pause();
      upstream.pause();
      // Drop whatever arrives meanwhile, or is still delayed, so nothing is delivered late.
      client.removeAllListeners('data');
      upstream.removeAllListeners('data');
      for (const link of pair.links) link.clear();
    }
  }

  /** Reset open connections. */
  cutExisting(only?: ConnectionFilter): void {
    for (const pair of this.selected(only)) {
      const { client, upstream } = pair;
      for (const link of pair.links) link.clear();
      // A reset fails (EINVAL) on a socket already shutting down, and the failed reset leaves its
      // handle open for good, keeping the test process alive: only reset sockets still writable.
      if (client.writableEnded) client.destroy();
      else client.resetAndDestroy();
      upstream.destroy();
      this.pairs.delete(pair);
    }
  }

  /**
   * Cut every connection once `bytes` more bytes have gone from clients to Redis: in the middle of a
   * command, as the chunk that crosses the mark is split there and Redis gets only its first part.
   * Resolves once the cut is made.
   */
  cutAfter(bytes: number): Promise<void> {
    return new Promise((resolve) => (this.armedCut = { remaining: bytes, done: resolve }));
  }

  /**
   * Cut the connections (`only`: those of these client ports) as soon as Redis next answers one of them
   * (`which`: with bytes it accepts; others pass), that answer lost: the command ran, its client never
   * hears so. Resolves once the cut is made.
   */
  cutOnNextReply(only?: ConnectionFilter, which: (reply: Buffer) => boolean = () => true): Promise<void> {
    return new Promise((resolve) => (this.armedReplyCut = { only, which, done: resolve }));
  }

  get connections(): number {
    return this.pairs.size;
  }

  /** Open connections the filter selects. */
  count(only?: ConnectionFilter): number {
    return this.selected(only).length;
  }

  async close(): Promise<void> {
    this.cutExisting();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private toRedis(pair: Pair, link: Link, buf: Buffer): void {
    const armed = this.armedCut;
    if (armed === undefined || buf.length < armed.remaining) {
      if (armed) armed.remaining -= buf.length;
      this.bytesToRedis += buf.length;
      link.push(buf);
      return;
    }
    this.armedCut = undefined;
    this.bytesToRedis += armed.remaining;
    link.push(buf.subarray(0, armed.remaining));
    // The first part reaches Redis before the FIN (end() flushes); the client gets a reset.
    this.pairs.delete(pair);
    pair.upstream.end();
    pair.client.resetAndDestroy();
    this.cutExisting();
    armed.done();
  }

  private toClient(pair: Pair, link: Link, buf: Buffer): void {
    const armed = this.armedReplyCut;
    if (armed === undefined || (armed.only !== undefined && !armed.only.has(pair.clientPort)) || !armed.which(buf)) {
      link.push(buf);
      return;
    }
    this.armedReplyCut = undefined;
    this.cutExisting(armed.only);
    armed.done();
  }

  private selected(only: ConnectionFilter): Pair[] {
    return [...this.pairs].filter((pair) => only === undefined || only.has(pair.clientPort));
  }

  private accept(client: net.Socket): void {
    if (this.refuseNew) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    const delayMs = () => this.delayMs;
    const pair: Pair = { client, upstream, clientPort: client.remotePort ?? 0, links: [new Link(upstream, delayMs), new Link(client, delayMs)] };
    this.pairs.add(pair);
    if (this.stallNew) {
      this.stalledAccepts++;
      client.pause();
      upstream.pause();
    } else {
      const [toUpstream, toClient] = pair.links as [Link, Link];
      client.on('data', (buf: Buffer) => this.toRedis(pair, toUpstream, buf));
      upstream.on('data', (buf: Buffer) => this.toClient(pair, toClient, buf));
    }
    const drop = () => {
      for (const link of pair.links) link.clear();
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
  }
}

/**
 * The local ports of the TCP sockets processes `pids` hold (Linux /proc): passed to a fault, they pick
 * the connections those processes opened to the proxy. A process that is gone holds none.
 */
export function localPortsOf(pids: readonly number[]): Set<number> {
  const ports = new Set<number>();
  for (const pid of pids) {
    const inodes = new Set<string>();
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const target = readlinkOrEmpty(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode !== undefined) inodes.add(inode);
      }
      for (const table of ['tcp', 'tcp6']) {
        // Lines: "sl local_address rem_address st ... uid timeout inode ...", local_address as HEXIP:HEXPORT.
        for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1)) {
          const fields = line.trim().split(/\s+/);
          const inode = fields[9];
          const port = fields[1]?.split(':')[1];
          if (inode !== undefined && port !== undefined && inodes.has(inode)) ports.add(parseInt(port, 16));
        }
      }
    } catch {
      // The process ended meanwhile.
    }
  }
  return ports;
}

function readlinkOrEmpty(file: string): string {
  try {
    return readlinkSync(file);
  } catch {
    return '';
  }
}
