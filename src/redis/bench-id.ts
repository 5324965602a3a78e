// Which id a bench without a saved bench_id gets, decided by the first command that connects to Redis
// (worker, enqueue, doctor, the library client, create-rq-users): a bench whose path-derived id (the old
// default) already holds keys keeps it, so an existing bench finds its jobs after the upgrade; any
// other bench gets a new random id. Either way it is saved to common_site_config.json (config/bench-id.ts),
// so it no longer depends on the folder: a moved or copied bench keeps its namespace.
import type { Redis } from './client-type.js';
import { newBenchId, saveBenchId } from '../config/bench-id.js';
import { loadBenchConfig, pathBenchId, type BenchConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { createRedis, type RedisCredentials } from './connection.js';
import { benchKeyPatterns } from './keys.js';
import { scanKeys } from './cross-slot.js';

/** Keys SCAN looks at per call. */
const SCAN_COUNT = 1000;

/** The bench's saved id; saves one first when the config has none (see the file header). */
export async function ensureBenchId(redis: Redis, bench: BenchConfig, log?: Logger): Promise<string> {
  if (bench.benchIdSaved) return bench.settings.bench_id;
  const legacy = pathBenchId(bench.path);
  const keepLegacy = await hasKeys(redis, benchKeyPatterns(legacy));
  const id = await saveBenchId(bench, keepLegacy ? legacy : newBenchId());
  log?.info({ benchId: id, file: bench.commonConfigFile, pathDerived: id === legacy }, 'bench_id saved');
  return id;
}

/**
 * `bench` with a saved bench_id: as it is when it has one, else reloaded after ensureBenchId on a
 * connection of its own (for commands that start processes which read the config themselves).
 */
export async function settleBenchId(bench: BenchConfig, log?: Logger, credentials: RedisCredentials = {}): Promise<BenchConfig> {
  if (bench.benchIdSaved) return bench;
  const redis = await createRedis(bench.settings, { role: 'producer', log, ...credentials });
  try {
    await ensureBenchId(redis, bench, log);
  } finally {
    redis.disconnect();
  }
  return loadBenchConfig(bench.path, { warn: false });
}

/** True when some key matches one of `patterns` (a SCAN of the keyspace, stopped at the first match). */
export async function hasKeys(redis: Redis, patterns: readonly string[]): Promise<boolean> {
  for (const pattern of patterns) {
    for await (const _keys of scanKeys(redis, pattern, SCAN_COUNT)) return true;
  }
  return false;
}
