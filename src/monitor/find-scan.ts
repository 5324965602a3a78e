// The bounded read behind the dashboard's find by method= and site= (src/monitor/find.ts), which no index
// serves: the queues' structures are read window by window, every structure of every queue in turn, one
// window of each per round (running, pending next-to-run first, scheduled, failed and finished newest
// first), so that a deep queue cannot use up the read before the others were looked at. Each window is
// matched in Redis (lua/matchJobs-1.lua: the id's site, the job's method), so only matches are sent back.
// At most FIND_SCAN_LIMIT ids are looked at: past that the answer says it is partial.
import type { Redis } from '../redis/client-type.js';
import { queueKeys } from '../redis/keys.js';
import { siteOf, SITE_SEPARATOR } from '../redis/job-record.js';
import { defineScripts, runScript } from '../redis/scripts.js';
import { pendingLists } from '../queue/lanes.js';
import type { JobRef } from './jobs.js';

/** Ids a find by method or site looks at, at most, over every queue and structure. */
export const FIND_SCAN_LIMIT = 20_000;
/** Ids of one structure matched by one script call. */
const FIND_WINDOW = 1000;

export interface ScanMatch {
  /** Only the jobs of this site (its lane is the only pending list read). */
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

interface Structure {
  queue: string;
  prefix: string;
  key: string;
  kind: 'list' | 'zset' | 'zrev';
  next: number;
}

/** Jobs of `queues` that match, up to `limit`, looking at no more than `scanLimit` ids. */
export async function scanForJobs(redis: Redis, benchId: string, queues: readonly string[], match: ScanMatch, limit: number, scanLimit = FIND_SCAN_LIMIT): Promise<ScanResult> {
  defineScripts(redis);
  const perQueue = await Promise.all(
    queues.map(async (queue): Promise<Structure[]> => {
      const k = queueKeys(benchId, queue);
      const lists = await pendingLists(redis, k, match.site);
      const at = (key: string, kind: Structure['kind']): Structure => ({ queue, prefix: k.prefix, key, kind, next: 0 });
      return [at(k.active, 'zset'), ...lists.map((list) => at(list, 'list')), at(k.delayed, 'zset'), at(k.failed, 'zrev'), at(k.finished, 'zrev')];
    }),
  );
  let open = perQueue.flat();
  const idStart = match.site === undefined ? '' : `${match.site}${SITE_SEPARATOR}`;
  const found: JobRef[] = [];
  let examined = 0;
  while (open.length > 0 && found.length < limit && examined < scanLimit) {
    const replies = await Promise.all(
      open.map((s) => runScript(redis, 'matchJobs', [s.key], [s.prefix, s.kind, s.next, s.next + FIND_WINDOW - 1, idStart, match.method === undefined ? '' : 'method', match.method ?? '']) as Promise<[number, ...string[]]>),
    );
    replies.forEach(([read, ...ids], i) => {
      const s = open[i] as Structure;
      examined += read;
      s.next += FIND_WINDOW;
      for (const id of ids) if (found.length < limit && match.visible(siteOf(id))) found.push({ queue: s.queue, id, score: 0 });
    });
    open = open.filter((_, i) => (replies[i] as [number])[0] === FIND_WINDOW);
  }
  return { refs: found, partial: open.length > 0 && found.length < limit };
}
