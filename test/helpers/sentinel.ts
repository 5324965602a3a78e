// A private Redis Sentinel set for a test file: one master, one replica and three Sentinels, each a
// redis-server on a free port of 127.0.0.1 with a throwaway directory, all killed with the test process.
// down-after-milliseconds 1000, so that a SIGKILLed master is replaced in about 2-3 s (measured in
// ../shared/reference/redis-failover-and-faults.md). With `masterAddressFor`, the replica and the Sentinels
// reach the master at another port (a FaultProxy in front of it), so that a test can cut them off it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startRedis, startRedisWithConfig, type ConfiguredRedis, type TestRedis } from './redis-server.ts';
import { waitFor } from './wait-for.ts';

export const MASTER_NAME = 'benchq';

export interface SentinelSet {
  master: TestRedis;
  replica: TestRedis;
  /** "127.0.0.1:port" of each Sentinel, as redis_queue_sentinels takes them. */
  sentinels: string[];
  /** The Sentinels' process ids (to pick their connections out with fault-proxy.ts's localPortsOf). */
  sentinelPids: number[];
  /** The port of the master the Sentinels name now. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

function sentinelConf(dir: string, port: number, masterPort: number): string {
  return [
    `port ${port}`,
    'bind 127.0.0.1',
    `dir ${dir}`,
    'sentinel resolve-hostnames no',
    `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
    `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
    `sentinel failover-timeout ${MASTER_NAME} 3000`,
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
    '',
  ].join('\n');
}

export interface SentinelSetOptions {
  /**
   * The port the replica and the Sentinels reach the master at, given the master's own (default: that
   * one). The Sentinels then name the master by this port.
   */
  masterAddressFor?: (masterPort: number) => Promise<number>;
}

export async function startSentinelSet(options: SentinelSetOptions = {}): Promise<SentinelSet> {
  const master = await startRedis({ appendonly: true, extraArgs: ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'] });
  const masterAddress = options.masterAddressFor ? await options.masterAddressFor(master.port) : master.port;
  const replica = await startRedis({ appendonly: true, extraArgs: ['--replicaof', '127.0.0.1', String(masterAddress)] });
  await waitFor(async () => /master_link_status:up/.test(await replica.client.info('replication')), { what: 'the replica to sync', timeoutMs: 20_000 });
  // Sentinels start once the replica is linked: one started earlier may miss it until its next 10 s INFO.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-sentinel-'));
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const servers: ConfiguredRedis[] = [];
  for (const [i, port] of ports.entries()) {
    const conf = path.join(dir, `sentinel-${i}.conf`);
    writeFileSync(conf, sentinelConf(dir, port, masterAddress));
    servers.push(await startRedisWithConfig(conf, port, ['--sentinel']));
  }
  const asks = ports.map((port) => new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 2 }));
  for (const ask of asks) ask.on('error', () => {});
  const field = (reply: unknown, name: string) => {
    const flat = reply as string[];
    return flat[flat.indexOf(name) + 1];
  };
  await waitFor(
    async () => {
      for (const ask of asks) {
        const info = await ask.call('SENTINEL', 'MASTER', MASTER_NAME);
        if (field(info, 'num-other-sentinels') !== '2' || field(info, 'num-slaves') !== '1') return false;
      }
      return true;
    },
    { what: 'the Sentinels to see each other and the replica', timeoutMs: 30_000, intervalMs: 200 },
  );
  return {
    master,
    replica,
    sentinels: ports.map((port) => `127.0.0.1:${port}`),
    sentinelPids: servers.map((s) => s.process.pid).filter((pid) => pid !== undefined),
    async masterPort() {
      const [, port] = (await (asks[0] as Redis).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as [string, string];
      return Number(port);
    },
    async stop() {
      for (const ask of asks) ask.disconnect();
      await Promise.all(servers.map((s) => s.stop()));
      await Promise.all([master.stop(), replica.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
