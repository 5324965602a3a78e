// A TCP proxy in front of the test Redis that can stall or cut connections: a silent partition
// (no FIN/RST: bytes just stop) or a hard break, without root or iptables.
import net from 'node:net';

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
}

export class FaultProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  port = 0;
  /** While true, new connections are accepted but nothing passes either way (a partition hit mid-handshake). */
  stallNew = false;
  /** Connections accepted while stallNew was set. */
  stalledAccepts = 0;

  constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Freeze every open connection (new ones still pass): looks like a silent network partition. */
  stallExisting(): void {
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
      // Drop whatever arrives meanwhile so nothing is delivered late.
      client.removeAllListeners('data');
      upstream.removeAllListeners('data');
    }
  }

  /** Reset every open connection. */
  cutExisting(): void {
    for (const { client, upstream } of this.pairs) {
      // A reset fails (EINVAL) on a socket already shutting down, and the failed reset leaves its
      // handle open for good, keeping the test process alive: only reset sockets still writable.
      if (client.writableEnded) client.destroy();
      else client.resetAndDestroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  get connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.cutExisting();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    const pair = { client, upstream };
    this.pairs.add(pair);
    if (this.stallNew) {
      this.stalledAccepts++;
      client.pause();
      upstream.pause();
    } else {
      client.on('data', (buf) => upstream.write(buf));
      upstream.on('data', (buf) => client.write(buf));
    }
    const drop = () => {
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
