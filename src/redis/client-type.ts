// The type of a connection to the bench's queue Redis: one server (also through Sentinel) or a Redis
// Cluster. Modules that only send commands and scripts take this type and work with both; the few
// things only one of them has (a Cluster's per-node connections) are reached through redis/cluster.ts.
import type { Cluster, Redis as ServerClient } from 'ioredis';

export type Redis = ServerClient | Cluster;
