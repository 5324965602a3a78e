// Other bench namespaces on the bench's Redis that hold jobs no live worker serves, for `bench doctor`:
// a bench moved before its bench_id was saved left its jobs under its old id, and nothing else shows
// them. Found by SCAN (never KEYS) of every queue's legacy wait list, lanes' counter (`queued`), delayed
// and active keys, so it costs a walk of the keyspace: fine for a health check, not for a hot path.
import type { Redis } from '../redis/client-type.js';
import { pathBenchId, type BenchConfig } from '../config/load.js';
import { everyQueueKeyPattern, parseQueueKey } from '../redis/keys.js';
import { execAll } from './jobs.js';
import { getWorkers } from './workers.js';
import { crossSlotPipeline, scanKeys } from '../redis/cross-slot.js';

const SCAN_COUNT = 1000;
/** The keys counting a queue's jobs, and how: a list's length, a counter's value, a sorted set's size. */
const PENDING_KEYS = [
  ['wait', 'list'],
  ['queued', 'counter'],
  ['delayed', 'zset'],
  ['active', 'zset'],
] as const;
type KeyKind = (typeof PENDING_KEYS)[number][1];

export interface OrphanedNamespace {
  benchId: string;
  /** Queued, scheduled and running jobs (a legacy wait list's removed-id markers counted too). */
  jobs: number;
  /**
   * The id this bench's path gives (the old default) while it uses another: these are this bench's
   * jobs from before its bench_id was saved, not another bench's.
   */
  thisBenchPath: boolean;
}

/** Namespaces other than the bench's own holding queued, scheduled or running jobs, none of whose workers is live. */
export async function orphanedNamespaces(redis: Redis, bench: BenchConfig): Promise<OrphanedNamespace[]> {
  const own = bench.settings.bench_id;
  const keys: { benchId: string; key: string; kind: KeyKind }[] = [];
  for (const [name, kind] of PENDING_KEYS) {
    for await (const found of scanKeys(redis, everyQueueKeyPattern(name), SCAN_COUNT)) {
      for (const key of found) {
        const parsed = parseQueueKey(key);
        if (parsed && parsed.name === name && parsed.benchId !== own) keys.push({ benchId: parsed.benchId, key, kind });
      }
    }
  }
  if (keys.length === 0) return [];
  const pipeline = crossSlotPipeline(redis);
  for (const { key, kind } of keys) {
    if (kind === 'list') pipeline.llen(key);
    else if (kind === 'counter') pipeline.get(key);
    else pipeline.zcard(key);
  }
  const counts = (await execAll(pipeline)).map((n) => Number(n ?? 0));
  const jobs = new Map<string, number>();
  keys.forEach(({ benchId }, i) => jobs.set(benchId, (jobs.get(benchId) ?? 0) + (counts[i] ?? 0)));
  const legacy = pathBenchId(bench.path);
  const orphaned: OrphanedNamespace[] = [];
  for (const [benchId, count] of [...jobs].sort(([a], [b]) => a.localeCompare(b))) {
    if (count === 0 || (await getWorkers(redis, benchId)).length > 0) continue;
    orphaned.push({ benchId, jobs: count, thisBenchPath: benchId === legacy });
  }
  return orphaned;
}
