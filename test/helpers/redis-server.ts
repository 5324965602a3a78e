// Starts a private redis-server for a test file: a free port, a throwaway directory, stopped (by pid)
// when the file's tests end (or, at the latest, when the test process exits). Never touches any
// other Redis. With `tls`, it listens only for TLS (rediss://) with a throwaway CA's certificate.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './wait-for.ts';
import { portAnswers } from '../../src/bench/local-redis.ts';

export interface TestRedis {
  port: number;
  /** redis://, or rediss:// (with no ssl_* options) for a TLS server. */
  url: string;
  dir: string;
  process: ChildProcess;
  /** A plain client for assertions. */
  client: Redis;
  stop(): Promise<void>;
  /** Kill the server (SIGKILL) and start it again on the same port and dir. */
  restart(options?: { kill?: boolean }): Promise<void>;
  /** Stop the server (SIGKILL by default), keeping its dir, for up() to start it again. */
  down(signal?: NodeJS.Signals): Promise<void>;
  up(): Promise<void>;
}

// Servers still running when the test process exits (a timed-out test never reached stop(), or
// the runner forced the exit) are killed with it, so no redis-server outlives its test file.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `cluster`: a one-node Redis Cluster holding every slot, so that a script's keys must share a slot
 * (a script loaded with the `#!lua` shebang may then touch only keys of the slot of its declared keys).
 * `extraArgs`: more redis-server arguments, kept across restarts (e.g. --key-load-delay).
 * `tls`: TLS only (no plain port), with the server certificate of `tls` (see makeTlsFiles); clients
 * need not present a certificate.
 */
export async function startRedis(options: { appendonly?: boolean; cluster?: boolean; extraArgs?: readonly string[]; tls?: TlsFiles } = {}): Promise<TestRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-redis-'));
  const port = await freePort();
  const { tls } = options;
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.serverCert, '--tls-key-file', tls.serverKey, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const args = [...listen, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.appendonly ? 'yes' : 'no', '--appendfsync', 'always', '--daemonize', 'no', '--logfile', path.join(dir, 'redis.log')];
  if (options.cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'));
  if (options.extraArgs) args.push(...options.extraArgs);
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    running.add(child);
    child.once('exit', () => running.delete(child));
    child.once('error', (err) => {
      throw new Error(`cannot start redis-server (is it installed? apt-get install redis-server): ${err.message}`);
    });
    await waitFor(() => portAnswers(port), { timeoutMs: 10_000, what: `redis-server on port ${port}` });
    return child;
  };
  const process0 = await launch();
  if (options.cluster) {
    const admin = new Redis({ port, host: '127.0.0.1' });
    try {
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      await waitFor(async () => /cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO'))), { timeoutMs: 10_000, what: 'the one-node cluster to be ok' });
    } finally {
      admin.disconnect();
    }
  }
  const handle: TestRedis = {
    port,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    dir,
    process: process0,
    client: new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null, lazyConnect: false, ...(tls && { tls: { ca: readFileSync(tls.ca) } }) }),
    async stop() {
      handle.client.disconnect();
      await killAndWait(handle.process, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    async restart({ kill = true } = {}) {
      await handle.down(kill ? 'SIGKILL' : 'SIGTERM');
      await handle.up();
    },
    async down(signal = 'SIGKILL') {
      await killAndWait(handle.process, signal);
    },
    async up() {
      handle.process = await launch();
    },
  };
  handle.client.on('error', () => {});
  return handle;
}

export interface TlsFiles {
  dir: string;
  /** The throwaway CA's certificate (PEM). */
  ca: string;
  /** A server certificate for 127.0.0.1 and localhost, signed by the CA, and its key. */
  serverCert: string;
  serverKey: string;
  /** Another CA's certificate: a client trusting only it must refuse the server. */
  otherCa: string;
  remove(): void;
}

/** A throwaway CA and a server certificate it signed (openssl, in a temp dir), plus an unrelated CA. */
export function makeTlsFiles(): TlsFiles {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-tls-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=bench-worker test ${ca}`, '-keyout', file(`${ca}.key`), '-out', file(`${ca}.pem`));
  }
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr'));
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('server.ext'), '-out', file('server.pem'));
  return {
    dir,
    ca: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    otherCa: file('other-ca.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ConfiguredRedis {
  process: ChildProcess;
  /** What the server printed (its log, when the config sets no logfile). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Start redis-server from a config file (e.g. one `bench setup redis` wrote), with `extraArgs`
 * appended as config lines, and wait until `port` answers; fails early if the server exits.
 */
export async function startRedisWithConfig(conf: string, port: number, extraArgs: readonly string[] = []): Promise<ConfiguredRedis> {
  const child = spawn('redis-server', [conf, '--daemonize', 'no', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  const handle: ConfiguredRedis = { process: child, output: () => output, stop: () => killAndWait(child, 'SIGKILL') };
  const up = waitFor(() => portAnswers(port), { timeoutMs: 10_000, what: `redis-server from ${conf} on port ${port}` });
  const died = exited.then(() => {
    throw new Error(`redis-server exited (${String(child.exitCode ?? child.signalCode)}): ${output}`);
  });
  try {
    await Promise.race([up, died]);
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

async function killAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
