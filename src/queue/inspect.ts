// Read-side lookups shared by the library and the CLI: find a job by id in whichever queue holds it.
import type { Redis } from '../redis/client-type.js';
import type { BenchConfig } from '../config/load.js';
import { queueKeys } from '../redis/keys.js';
import { jobFromHash, namespacedJobId, SITE_SEPARATOR } from '../redis/job-record.js';
import type { JobRecord } from '../vocabulary.js';
import { checkFullJobId, checkJobId } from './job-id.js';
import { crossSlotPipeline } from '../redis/cross-slot.js';

/**
 * The full id of `jobId` for `site`: ids already namespaced for the site are kept as they are. An id no
 * job can have (over 200 characters, a control character) is ERR_USAGE.
 */
export function fullJobId(site: string, jobId: string): string {
  if (jobId.startsWith(`${site}${SITE_SEPARATOR}`)) return checkFullJobId(jobId, 'ERR_USAGE');
  return namespacedJobId(site, checkJobId(jobId, 'ERR_USAGE'));
}

/** Look for a job in every queue of the bench (one round trip). */
export async function findJob(redis: Redis, bench: BenchConfig, id: string): Promise<JobRecord | undefined> {
  const pipeline = crossSlotPipeline(redis);
  for (const queue of bench.queues) pipeline.hgetall(queueKeys(bench.settings.bench_id, queue.name).job(id));
  const replies = (await pipeline.exec()) ?? [];
  for (const [i, [err, hash]] of replies.entries()) {
    if (err) throw err;
    const queue = bench.queues[i];
    if (queue && hash && Object.keys(hash).length > 0) return jobFromHash(id, queue, hash as Record<string, string>);
  }
  return undefined;
}
