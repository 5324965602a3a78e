// Redis Cluster (redis_queue_cluster): the ioredis Cluster options for each client role, and the few
// things a Cluster needs done differently from one server:
//  - every queue's keys share one hash tag (keys.ts), so each queue lives in one slot and its scripts
//    stay single-slot, while different queues spread over the shards;
//  - a call that spans queues (fetch.lua over several queues, BZPOPMIN on several markers, a pipeline of
//    reads across queues) cannot go as one command: callers ask isCluster() and split it per queue
//    (worker/fetcher.ts, worker/marker-waits.ts, redis/cross-slot.ts);
//  - bench-wide reads that SCAN go to every master (mastersOf).
// The redirection budget is sized to outlast a failover (node-timeout + promotion, measured 2.4-4.4 s
// with node-timeout 1-2 s in ../shared/reference/redis-failover-and-faults.md), so that a command
// waits through one rather than failing with "Too many Cluster redirections".
import type { Cluster, ClusterOptions, Redis as ServerClient, RedisOptions } from 'ioredis';
import type { BenchSettings } from '../config/schema.js';
import { redisEndpoint, type RedisEndpoint } from '../config/redis-url.js';
import { ConfigError } from '../errors.js';
import { redactUrl } from '../util/redact.js';
import type { Redis } from './client-type.js';

const COMMON_CONFIG = 'sites/common_site_config.json';

/** Wait between redirection attempts while a slot moves or the cluster is down (ms). */
const FAILOVER_RETRY_MS = 500;
/** Redirections one command may follow: 24 x 500 ms = 12 s, more than a failover with a 5 s node-timeout. */
const MAX_REDIRECTIONS = 24;

/** True for a Redis Cluster client (ioredis marks both kinds). */
export function isCluster(client: Redis): client is Cluster {
  return client.isCluster;
}

/** True when the bench's queues live on a Redis Cluster (redis_queue_cluster lists seed nodes). */
export function usesCluster(settings: Pick<BenchSettings, 'redis_queue_cluster'>): boolean {
  return (settings.redis_queue_cluster?.length ?? 0) > 0;
}

/** The seed nodes of redis_queue_cluster, or undefined when the bench uses one server. */
export function clusterSeeds(settings: BenchSettings): RedisEndpoint[] | undefined {
  const urls = settings.redis_queue_cluster;
  if (urls === undefined || !usesCluster(settings)) return undefined;
  if (settings.redis_queue_sentinel_enabled) {
    throw new ConfigError(
      'redis_queue_cluster and redis_queue_sentinel_enabled are both set: a bench uses one Redis Cluster or one Sentinel-managed master, not both',
      COMMON_CONFIG,
      'redis_queue_cluster',
    );
  }
  return urls.map((url) => redisEndpoint(url));
}

/**
 * ioredis Cluster options: `nodeOptions` (credentials, TLS and timeouts of each node connection, built
 * by connection.ts as for one server, from the first seed's URL) plus the cluster-wide ones for `role`. A producer gives up when
 * no seed answers after a few tries; workers keep trying.
 */
export function clusterOptionsFor(nodeOptions: RedisOptions, role: 'producer' | 'worker' | 'blocking'): ClusterOptions {
  const { host: _host, port: _port, db: _db, lazyConnect: _lazy, enableReadyCheck: _ready, retryStrategy: _retry, ...perNode } = nodeOptions;
  return {
    lazyConnect: true,
    // Ready once CLUSTER INFO says the cluster is ok.
    enableReadyCheck: true,
    scaleReads: 'master',
    maxRedirections: MAX_REDIRECTIONS,
    retryDelayOnFailover: FAILOVER_RETRY_MS,
    retryDelayOnClusterDown: FAILOVER_RETRY_MS,
    retryDelayOnTryAgain: FAILOVER_RETRY_MS,
    retryDelayOnMoved: 0,
    // Not enableAutoPipelining: while slots move in a failover, its batches fail whole with "All keys in
    // the pipeline should belong to the same slots allocation group" (seen in the failover test: 114
    // failed fetch calls, and workers lost their liveness stamps).
    enableAutoPipelining: false,
    clusterRetryStrategy: role === 'producer' ? (times) => (times > 3 ? null : Math.min(times * 200, 1000)) : (times) => Math.min(100 * 2 ** Math.min(times, 5), 3000),
    redisOptions: perNode,
    slotsRefreshTimeout: 2000,
  };
}

/** The Cluster's seed list for ioredis. */
export function clusterNodesOf(seeds: readonly RedisEndpoint[]): { host: string; port: number }[] {
  return seeds.map(({ host, port }) => ({ host, port }));
}

/** The seed nodes for messages (passwords hidden). */
export function clusterLabel(settings: BenchSettings): string {
  return `Redis Cluster via ${(settings.redis_queue_cluster ?? []).map((url) => redactUrl(url)).join(', ')}`;
}

/** The connections that hold data: each master of a Cluster, or the one server. */
export function mastersOf(client: Redis): ServerClient[] {
  return isCluster(client) ? client.nodes('master') : [client];
}
