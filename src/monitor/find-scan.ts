// The bounded read behind the dashboard's find by method= and site= (src/monitor/find.ts), which no index
// serves: the queues' structures are read window by window (scan.ts), every structure of every queue in
// turn, one window of each per round (running, pending next-to-run first, scheduled, failed and finished
// newest first), so that a deep queue cannot use up the read before the others were looked at. A job's
// method costs one HGET (pipelined per round); its site is in its id. At most FIND_SCAN_LIMIT ids are
// looked at: past that the answer says it is partial.
import type { Redis } from '../redis/client-type.js';
import { queueKeys } from '../redis/keys.js';
import { siteOf } from '../redis/job-record.js';
import { crossSlotPipeline } from '../redis/cross-slot.js';
import { execAll, type JobRef } from './jobs.js';
import { pendingWindows, zsetWindows, type ScoredId } from './scan.js';

/** Ids a find by method or site looks at, at most, over every queue and structure. */
export const FIND_SCAN_LIMIT = 20_000;
/** Ids per window read from one structure. */
const FIND_WINDOW = 1000;

export interface ScanMatch {
  /** Only the jobs of this site (it is the only pending lane read). */
  site?: string | undefined;
  /** Only the jobs calling this method. */
  method?: string | undefined;
  /** Sites the caller may see (a job of another is never matched). */
  visible: (site: string) => boolean;
}

export interface ScanResult {
  refs: JobRef[];
  /** FIND_SCAN_LIMIT was reached before every structure was read to its end. */
  partial: boolean;
}

interface Source {
  queue: string;
  windows: AsyncGenerator<ScoredId[]>;
}

/** Jobs of `queues` that match, up to `limit`, looking at no more than `scanLimit` ids. */
export async function scanForJobs(redis: Redis, benchId: string, queues: readonly string[], match: ScanMatch, limit: number, scanLimit = FIND_SCAN_LIMIT): Promise<ScanResult> {
  const now = await redisNow(redis);
  let sources: Source[] = queues.flatMap((queue) => {
    const k = queueKeys(benchId, queue);
    return [
      zsetWindows(redis, k.active, { window: FIND_WINDOW }),
      pendingWindows(redis, k, match.site, FIND_WINDOW),
      zsetWindows(redis, k.delayed, { window: FIND_WINDOW }),
      zsetWindows(redis, k.failed, { descending: true, window: FIND_WINDOW }),
      zsetWindows(redis, k.finished, { descending: true, minScore: now, window: FIND_WINDOW }),
    ].map((windows) => ({ queue, windows }));
  });
  const found: JobRef[] = [];
  let examined = 0;
  try {
    while (sources.length > 0 && found.length < limit && examined < scanLimit) {
      const reads = await Promise.all(sources.map((source) => source.windows.next()));
      const round: JobRef[] = [];
      reads.forEach((read, i) => {
        if (read.done) return;
        const { queue } = sources[i] as Source;
        examined += read.value.length;
        for (const { id, score } of read.value) {
          const site = siteOf(id);
          if (match.visible(site) && (match.site === undefined || site === match.site)) round.push({ queue, id, score });
        }
      });
      sources = sources.filter((_, i) => !reads[i]?.done);
      for (const ref of await withMethod(redis, benchId, round, match.method)) {
        if (found.length < limit) found.push(ref);
      }
    }
  } finally {
    await Promise.all(sources.map((source) => source.windows.return(undefined)));
  }
  return { refs: found, partial: sources.length > 0 && found.length < limit };
}

/** The refs whose job calls `method` (all of them when no method is asked for), in order. */
async function withMethod(redis: Redis, benchId: string, refs: readonly JobRef[], method: string | undefined): Promise<JobRef[]> {
  if (method === undefined || refs.length === 0) return [...refs];
  const pipeline = crossSlotPipeline(redis);
  for (const ref of refs) pipeline.hget(queueKeys(benchId, ref.queue).job(ref.id), 'method');
  const methods = await execAll(pipeline);
  return refs.filter((_, i) => methods[i] === method);
}

/** The Redis clock in ms (a finished id past its score has lost its hash). */
async function redisNow(redis: Redis): Promise<number> {
  const [sec, usec] = await redis.time();
  return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
}
