// Creates ioredis clients for the bench's redis_queue with the settings each role needs:
//  - 'producer': enqueue from app code or the CLI; fails fast with a clear error when Redis is down.
//  - 'worker':   commands of a long-running worker; waits through outages (reconnect with backoff).
//  - 'blocking': a worker's dedicated connection for BZPOPMIN; never shared with other commands.
// Scripts are registered on every client, and an outage is logged once, not once per attempt.
// No credential leaves here: errors of every command are scrubbed (reply-errors.ts), URLs redacted.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';
import type { Redis } from './client-type.js';
import type { Logger } from 'pino';
import { redisEndpoint, type RedisEndpoint, type RedisTlsOptions } from '../config/redis-url.js';
import type { BenchSettings } from '../config/schema.js';
import { BenchError, ConfigError, isBenchError } from '../errors.js';
import { parseHostPort } from '../config/validate.js';
import { redactText, redactUrl } from '../util/redact.js';
import { clusterLabel, clusterNodesOf, clusterOptionsFor, clusterSeeds, usesCluster } from './cluster.js';
import { checkReady } from './ready-check.js';
import { guardCommandErrors } from './reply-errors.js';
import { defineScripts } from './scripts.js';

export type RedisRole = 'producer' | 'worker' | 'blocking';

/**
 * Environment variable holding the password of Redis' default (admin) user, spelt as Frappe spells it:
 * used when neither use_rq_auth nor the redis_queue URL gives credentials.
 */
export const ADMIN_PASSWORD_ENV = 'RQ_ADMIN_PASWORD';

/** Where the Sentinel keys are read from, for their errors. */
const COMMON_CONFIG = 'sites/common_site_config.json';

/** Attempts, 2 s apart, to reconnect to a Sentinel the failover detector lost. */
const SENTINEL_RECONNECTS = 10;

/** A connection with a command outstanding and no byte back for this long is replaced. */
const SOCKET_TIMEOUT_MS = 15_000;

export interface CreateRedisOptions {
  role: RedisRole;
  log?: Logger | undefined;
  /**
   * How long the first connection may take, handshake included (ms): ioredis' own connectTimeout
   * stops at the TCP connect, so a server that accepts and then answers nothing would hang forever.
   */
  connectTimeoutMs?: number;
  /** Overrides for the credentials from config (the CLI's -u / -p). */
  username?: string | undefined;
  password?: string | undefined;
}

/** Credentials that override the config's (`bench worker -u / -p`). */
export interface RedisCredentials {
  username?: string | undefined;
  password?: string | undefined;
}

/**
 * The ioredis options of a client of `settings.redis_queue` for `options.role` (the URL parse is
 * src/config/redis-url.ts's: an invalid one is a ConfigError before any connection is made).
 */
export function redisOptionsFor(settings: BenchSettings, options: CreateRedisOptions): RedisOptions {
  // A Cluster's node connections take the first seed's credentials and TLS options.
  const endpoint = clusterSeeds(settings)?.[0] ?? redisEndpoint(settings.redis_queue);
  const base: RedisOptions = {
    ...(sentinelOptions(settings, endpoint) ?? { host: endpoint.host, port: endpoint.port }),
    db: endpoint.db,
    // A master demoted under us answers writes with READONLY: reconnect (to the new master) and resend.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    lazyConnect: true,
    // checkReady() runs ioredis' ready check itself once, then turns it on (see ready-check.ts).
    enableReadyCheck: false,
    connectionName: `bench-worker:${options.role}`,
    // disconnect() would otherwise keep the process alive for ioredis' default 2 s.
    ...({ disconnectTimeout: 100 } as RedisOptions),
    ...(endpoint.tls && { tls: tlsOptionsOf(endpoint.tls) }),
    ...masterCredentials(settings, credentials(settings, endpoint, options)),
  };
  // A silent partition (no FIN, no RST) would hang a command forever: drop a socket that answers
  // nothing for this long and reconnect; the scripts are replay-safe. Blocking waits have a watchdog.
  const socketTimeout = options.role === 'blocking' ? {} : { socketTimeout: SOCKET_TIMEOUT_MS };
  if (options.role === 'producer') {
    return {
      ...base,
      ...socketTimeout,
      maxRetriesPerRequest: 2,
      connectTimeout: connectTimeoutFor(options),
      retryStrategy: (times) => (times > 3 ? null : Math.min(times * 200, 1000)),
    };
  }
  return {
    ...base,
    ...socketTimeout,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000) + Math.floor(Math.random() * 200),
  };
}

/** Node TLS options from the URL's ssl_* options; a certificate file that cannot be read is a ConfigError. */
function tlsOptionsOf(tls: RedisTlsOptions): ConnectionOptions {
  const read = (file: string, option: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`redis_queue: ${option} ${file} cannot be read (${(err as Error).message})`, file, 'redis_queue', { cause: err });
    }
  };
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.caFile !== undefined && { ca: read(tls.caFile, 'ssl_ca_certs') }),
    ...(tls.certFile !== undefined && { cert: read(tls.certFile, 'ssl_certfile') }),
    ...(tls.keyFile !== undefined && { key: read(tls.keyFile, 'ssl_keyfile') }),
    ...(!tls.checkHostname && { checkServerIdentity: () => undefined }),
  };
}

function credentials(
  settings: BenchSettings,
  endpoint: RedisEndpoint,
  options: CreateRedisOptions,
): Pick<RedisOptions, 'username' | 'password'> {
  if (options.username !== undefined || options.password !== undefined) {
    return { username: options.username, password: options.password };
  }
  if (settings.use_rq_auth) {
    return { username: settings.rq_username ?? settings.bench_id, password: settings.rq_password };
  }
  if (endpoint.password !== undefined) return { username: endpoint.username, password: endpoint.password };
  // Frappe's admin password source, with Frappe's spelling: the default user's password.
  const admin = process.env[ADMIN_PASSWORD_ENV];
  if (admin !== undefined && admin !== '') return { username: 'default', password: admin };
  return {};
}

/**
 * With redis_queue_sentinel_enabled: ioredis' Sentinel options (the master is asked of the Sentinels at
 * each connect; failoverDetector drops the connection as soon as they announce a new master, instead of
 * writing to the demoted one until it is reconfigured). undefined without it.
 */
function sentinelOptions(settings: BenchSettings, endpoint: RedisEndpoint): RedisOptions | undefined {
  if (!settings.redis_queue_sentinel_enabled || usesCluster(settings)) return undefined;
  const sentinels = (settings.redis_queue_sentinels ?? []).map((entry) => parseHostPort(entry)).filter((s) => s !== undefined);
  if (sentinels.length === 0) {
    throw new ConfigError('redis_queue_sentinel_enabled is set but redis_queue_sentinels lists no Sentinel ("host:port")', COMMON_CONFIG, 'redis_queue_sentinels');
  }
  const name = settings.redis_queue_master_service;
  if (!name) {
    throw new ConfigError('redis_queue_sentinel_enabled is set but redis_queue_master_service does not name the master the Sentinels monitor', COMMON_CONFIG, 'redis_queue_master_service');
  }
  return {
    sentinels,
    name,
    ...({ failoverDetector: true } as RedisOptions),
    // The failover detector's own Sentinel connections: ioredis retries a lost one every minute for ever,
    // and one can outlive its client (a detector set up while the client was being closed, seen in the
    // Sentinel test), keeping a process from exiting. A restarted Sentinel is found again within 20 s; a
    // gone one is left (the other Sentinels still announce a failover; the next reconnect asks them all).
    sentinelReconnectStrategy: (times: number) => (times <= SENTINEL_RECONNECTS ? 2000 : null),
    ...(settings.redis_queue_sentinel_username !== undefined && { sentinelUsername: settings.redis_queue_sentinel_username }),
    ...(settings.redis_queue_sentinel_password !== undefined && { sentinelPassword: settings.redis_queue_sentinel_password }),
    ...(endpoint.tls && { enableTLSForSentinelMode: true }),
  };
}

/** The master's own credentials through Sentinel (redis_queue_master_*), over those of redis_queue / use_rq_auth. */
function masterCredentials(settings: BenchSettings, given: Pick<RedisOptions, 'username' | 'password'>): Pick<RedisOptions, 'username' | 'password'> {
  if (!settings.redis_queue_sentinel_enabled) return given;
  return {
    ...given,
    ...(settings.redis_queue_master_username !== undefined && { username: settings.redis_queue_master_username }),
    ...(settings.redis_queue_master_password !== undefined && { password: settings.redis_queue_master_password }),
  };
}

/** Where the queue Redis is, for messages: its URL (password hidden), or the Sentinel master and Sentinels. */
export function queueRedisLabel(settings: BenchSettings): string {
  if (usesCluster(settings)) return clusterLabel(settings);
  if (!settings.redis_queue_sentinel_enabled) return redactUrl(settings.redis_queue);
  return `Sentinel master "${settings.redis_queue_master_service ?? ''}" via ${(settings.redis_queue_sentinels ?? []).join(', ')}`;
}

/** The ACL user a client of these options logs in as (Redis' "default" without a user name). */
export function aclUser(options: RedisOptions): string {
  return options.username ?? 'default';
}

function connectTimeoutFor(options: CreateRedisOptions): number {
  return options.connectTimeoutMs ?? (options.role === 'producer' ? 5000 : 10_000);
}

/**
 * A connected, ready client (Redis done loading its dataset) with the bench's scripts registered.
 * Throws ERR_REDIS_UNAVAILABLE when it cannot connect, or when the handshake (and the loading) does
 * not finish within the connect timeout; ERR_REDIS_NOPERM when the ACL user may not run a handshake
 * command.
 */
export async function createRedis(settings: BenchSettings, options: CreateRedisOptions): Promise<Redis> {
  // Loaded on first use (~0.1 s of CPU): `bench worker` forks its worker processes meanwhile.
  const { Redis: ServerClient, Cluster } = await import('ioredis');
  const redisOptions = redisOptionsFor(settings, options);
  const seeds = clusterSeeds(settings);
  const client: Redis = seeds ? new Cluster(clusterNodesOf(seeds), clusterOptionsFor(redisOptions, options.role)) : new ServerClient(redisOptions);
  guardCommandErrors(client, aclUser(redisOptions));
  defineScripts(client);
  watchOutages(client, queueRedisLabel(settings), options);
  // connect() often rejects with a bare "Connection is closed"; the error event carries the cause.
  let firstError: Error | undefined;
  const remember = (err: Error) => (firstError ??= err);
  client.on('error', remember);
  const timeoutMs = connectTimeoutFor(options);
  try {
    // A Cluster's own ready check waits for CLUSTER INFO to say ok.
    const ready = client.connect().then(() => (seeds ? undefined : checkReady(client)));
    await withDeadline(ready, timeoutMs, `no answer to the connection handshake within ${timeoutMs} ms`);
    // ioredis reports a refused SELECT as an 'error' event and goes on, on db 0: not with our jobs.
    if (isRefusal(firstError)) throw firstError;
  } catch (err) {
    client.disconnect();
    const cause = firstError ?? err;
    // Logged in, but refused a command of the handshake: an ACL problem, not an outage.
    if (isRefusal(cause)) throw cause;
    throw unavailable(queueRedisLabel(settings), cause);
  } finally {
    client.off('error', remember);
  }
  return client;
}

function isRefusal(err: unknown): err is BenchError {
  return isBenchError(err) && err.code === 'ERR_REDIS_NOPERM';
}

/**
 * Close `client`: QUIT (its replies in flight arrive first) within `ms` when it is connected, then
 * disconnect, which also ends what QUIT leaves open: the failover detector's Sentinel connections
 * (they kept processes alive and logged unhandled ECONNREFUSED once the Sentinels went away).
 */
export async function closeRedis(client: Redis, ms = 2000): Promise<void> {
  if (client.status === 'ready') await withDeadline(client.quit(), ms, 'quit timed out').catch(() => undefined);
  client.disconnect();
}

/**
 * `promise`, or a rejection with `message` after `ms`: for Redis calls that a silent network can
 * hang forever (the caller then drops the connection).
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** ERR_REDIS_UNAVAILABLE for the queue Redis at `where` (queueRedisLabel: no password in it). */
export function unavailable(where: string, cause: unknown): BenchError {
  const reason = redactText(cause instanceof Error ? cause.message : String(cause));
  const hint = /WRONGPASS|NOAUTH|invalid username-password|NOPERM/.test(reason)
    ? 'Check rq_username / rq_password (with use_rq_auth), the password in the redis_queue URL, or RQ_ADMIN_PASWORD.'
    : /certificate|altnames|Hostname\/IP does not match/i.test(reason)
      ? "The server's TLS certificate was refused: ssl_ca_certs must name the CA that signed it (ssl_check_hostname=false when it does not name the host)."
      : 'Make sure it runs there (bench start starts one in development).';
  return new BenchError(
    'ERR_REDIS_UNAVAILABLE',
    `Redis queue is unreachable at ${where} (${reason}). ${hint}`,
    { cause, details: { redis_queue: where } },
  );
}

/** Log "lost" once when the connection drops and "back" once when it returns. */
function watchOutages(client: Redis, where: string, options: CreateRedisOptions): void {
  const log = options.log;
  let down = false;
  let downSince = 0;
  let lastError: Error | undefined;
  // ioredis emits 'error' for failed attempts but not for a server that closed the socket cleanly;
  // 'reconnecting' comes in both cases, once per attempt.
  client.on('error', (err: Error) => {
    lastError = err;
  });
  client.on('reconnecting', () => {
    if (down) return;
    down = true;
    downSince = Date.now();
    log?.warn({ err: lastError, role: options.role, redis: where }, 'redis connection lost, reconnecting');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    lastError = undefined;
    log?.info({ role: options.role, outageMs: Date.now() - downSince }, 'redis connection restored');
  });
}
