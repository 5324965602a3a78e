// A private Redis Cluster for a test file: 3 masters and 3 replicas, each a redis-server on a free port
// of 127.0.0.1 (its bus port, +10000, free too) with a throwaway directory, joined by
// `redis-cli --cluster create` and killed with the test process. node-timeout 1000 ms and
// --repl-diskless-sync-delay 0: it is up in about 3 s and fails over in about 3 s (measured in
// ../shared/reference/redis-failover-and-faults.md, section 1).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { queueKeys } from '../../src/redis/keys.ts';
import { freePort } from './redis-server.ts';
import { waitFor } from './wait-for.ts';

export interface ClusterNodeProcess {
  port: number;
  process: ChildProcess;
  /** A direct connection to this node (not cluster-aware). */
  client: Redis;
}

export interface TestCluster {
  nodes: ClusterNodeProcess[];
  /** "redis://127.0.0.1:port" of every node (with the password when there is one), as redis_queue_cluster takes them. */
  urls: string[];
  /** A cluster-aware client for the test's own checks. */
  client: Cluster;
  /** The node that is master of `key`'s slot now. */
  masterOf(key: string): Promise<ClusterNodeProcess>;
  /** A live replica of `master`. */
  replicaOf(master: ClusterNodeProcess): Promise<ClusterNodeProcess>;
  /** SIGKILL a node. */
  kill(node: ClusterNodeProcess): void;
  stop(): Promise<void>;
}

/** A port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port > 55_000 || taken.has(port)) continue;
    if (await portFree(port + 10_000)) {
      taken.add(port);
      return port;
    }
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `password`: every node requires it (requirepass, and masterauth for its replica). */
export async function startCluster(options: { password?: string } = {}): Promise<TestCluster> {
  const auth = options.password === undefined ? [] : ['--requirepass', options.password, '--masterauth', options.password];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 6; i++) ports.push(await clusterPort(taken));
  const nodes: ClusterNodeProcess[] = ports.map((port) => {
    const nodeDir = path.join(dir, String(port));
    mkdirSync(nodeDir);
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
        '--cluster-node-timeout', '1000', '--save', '', '--appendonly', 'no', '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0',
        '--daemonize', 'no', '--logfile', path.join(nodeDir, 'redis.log'), ...auth],
      { stdio: 'ignore' },
    );
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, password: options.password });
    client.on('error', () => {});
    return { port, process: child, client };
  });
  const killAll = () => nodes.forEach((n) => n.process.kill('SIGKILL'));
  process.once('exit', killAll);
  for (const node of nodes) {
    await waitFor(async () => (await node.client.connect().then(() => node.client.ping(), () => undefined)) === 'PONG', { what: `cluster node ${node.port} to start`, timeoutMs: 10_000, intervalMs: 50 });
  }
  const create = spawnSync('redis-cli', [...(options.password === undefined ? [] : ['-a', options.password, '--no-auth-warning']), '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  // Ready when every node says ok and sees three connected replicas (ioredis asks a random node for the slots).
  await waitFor(
    async () => {
      for (const node of nodes) {
        if (!/cluster_state:ok/.test(await node.client.cluster('INFO'))) return false;
        const replicas = String(await node.client.cluster('NODES')).split('\n').filter((l: string) => /\bslave\b/.test(l) && / connected/.test(l));
        if (replicas.length !== 3) return false;
      }
      return true;
    },
    { what: 'the cluster to be ok with its replicas', timeoutMs: 30_000, intervalMs: 100 },
  );
  const client = new Cluster(ports.slice(0, 3).map((port) => ({ host: '127.0.0.1', port })), { retryDelayOnFailover: 500, retryDelayOnClusterDown: 500, maxRedirections: 24, redisOptions: { password: options.password } });
  client.on('error', () => {});
  const live = (node: ClusterNodeProcess) => node.process.exitCode === null && node.process.signalCode === null;
  return {
    nodes,
    urls: ports.map((port) => `redis://${options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`}127.0.0.1:${port}`),
    client,
    async masterOf(key: string) {
      const slot = Number(await (nodes.find(live) as ClusterNodeProcess).client.cluster('KEYSLOT', key));
      for (const node of nodes.filter(live)) {
        const role = (await node.client.role()) as [string];
        if (role[0] !== 'master') continue;
        const mine = String(await node.client.cluster('NODES')).split('\n').find((l: string) => l.includes('myself'));
        if (mine && ownsSlot(mine, slot)) return node;
      }
      throw new Error(`no live master owns slot ${slot}`);
    },
    async replicaOf(master: ClusterNodeProcess) {
      const masterId = String(await master.client.cluster('MYID'));
      for (const node of nodes.filter(live)) {
        const mine = String(await node.client.cluster('NODES')).split('\n').find((l: string) => l.includes('myself'));
        if (mine?.split(' ')[3] === masterId) return node;
      }
      throw new Error(`no live replica of ${master.port}`);
    },
    kill(node: ClusterNodeProcess) {
      node.client.disconnect();
      node.process.kill('SIGKILL');
    },
    async stop() {
      client.disconnect();
      for (const node of nodes) node.client.disconnect();
      killAll();
      await Promise.all(nodes.map((n) => (live(n) ? new Promise((resolve) => n.process.once('exit', resolve)) : undefined)));
      process.off('exit', killAll);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A bench id starting with `name` whose queues `queues` lie on as many different masters of `cluster`. */
export async function spreadBenchId(cluster: TestCluster, name: string, queues: readonly string[]): Promise<string> {
  for (let n = 0; n < 1000; n++) {
    const masters = new Set<number>();
    for (const queue of queues) masters.add((await cluster.masterOf(queueKeys(`${name}${n}`, queue).marker)).port);
    if (masters.size === queues.length) return `${name}${n}`;
  }
  throw new Error('no bench id spreads the queues over the masters');
}

/** Whether a CLUSTER NODES line lists `slot` among its ranges ("0-5460 5461"). */
function ownsSlot(line: string, slot: number): boolean {
  return line
    .split(' ')
    .slice(8)
    .some((range) => {
      const [from, to] = range.split('-').map(Number);
      return from !== undefined && slot >= from && slot <= (to ?? from);
    });
}
