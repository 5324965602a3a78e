// The second half of Frappe's `bench doctor` (frappe/utils/doctor.py get_jobs_by_queue): per queue
// holding queued jobs (of one site, or of every site), how many there are and how many of them call
// each method. Every id is read window by window for the count; the method of at most
// METHOD_SCAN_LIMIT jobs per queue (one HGET each, pipelined), so a queue of a million jobs costs a
// bounded read, and the report says when the methods were counted over the first ones only.
import type { Redis } from '../redis/client-type.js';
import type { BenchConfig } from '../config/load.js';
import { queueKeys } from '../redis/keys.js';
import { execAll, jobRefs, selectQueues } from './jobs.js';
import { crossSlotPipeline } from '../redis/cross-slot.js';

/** Jobs per queue whose method is read. */
export const METHOD_SCAN_LIMIT = 10_000;
const PIPELINE_CHUNK = 1000;

export interface QueueMethods {
  queue: string;
  /** Queued jobs (of the site, when one is given). */
  total: number;
  /** Jobs per method, over the first `counted` jobs. */
  methods: Record<string, number>;
  counted: number;
}

/** The queues holding queued jobs of `site` (of every site when undefined), in priority order. */
export async function pendingMethods(redis: Redis, bench: BenchConfig, site?: string, limit = METHOD_SCAN_LIMIT): Promise<QueueMethods[]> {
  const result: QueueMethods[] = [];
  for (const queue of selectQueues(bench)) {
    const ids: string[] = [];
    let total = 0;
    for await (const ref of jobRefs(redis, bench, 'queued', [queue], site)) {
      if (total < limit) ids.push(ref.id);
      total++;
    }
    if (total === 0) continue;
    const k = queueKeys(bench.settings.bench_id, queue);
    const methods: Record<string, number> = {};
    for (let start = 0; start < ids.length; start += PIPELINE_CHUNK) {
      const pipeline = crossSlotPipeline(redis);
      for (const id of ids.slice(start, start + PIPELINE_CHUNK)) pipeline.hget(k.job(id), 'method');
      for (const method of await execAll(pipeline)) {
        if (typeof method === 'string') methods[method] = (methods[method] ?? 0) + 1;
      }
    }
    result.push({ queue, total, methods, counted: ids.length });
  }
  return result;
}
