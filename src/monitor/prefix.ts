// A job named by a unique prefix of its id, for `bench jobs show|retry|delete|cancel` (as git takes a
// commit). The exact id is tried first (one round trip); only when no job has it are the queues' own
// structures searched for ids starting with it: each sorted set by ZSCAN MATCH (Redis filters, ~1000
// members a call) and its pending ids in windows (the legacy wait list, then the sites' lanes: only the
// site's lane when the prefix names one), at most PREFIX_SCAN_LIMIT ids of each, never a SCAN of the
// whole keyspace. A canceled job is in none of them: it is found by its full id only.
import type { Redis } from '../redis/client-type.js';
import type { BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import { siteOf, SITE_SEPARATOR } from '../redis/job-record.js';
import { queueKeys } from '../redis/keys.js';
import type { JobRecord } from '../vocabulary.js';
import { locateJob, notFound, requireJob, resolveJobId } from './actions.js';
import { selectQueues } from './jobs.js';
import { pendingWindows, ZSET_WINDOW } from './scan.js';

/** Characters of the id (after "SITE||") a prefix needs: shorter ones match too much to mean one job. */
export const JOB_PREFIX_MIN = 4;
/** Ids of one structure (a queue's pending ids, running, scheduled, failed or finished set) looked through. */
export const PREFIX_SCAN_LIMIT = 50_000;
/** Matches collected before the search stops (an ambiguous prefix lists them). */
export const PREFIX_CANDIDATES = 10;

export interface JobMatch {
  id: string;
  queue: string;
}

interface Prefix {
  /** What an id must start with; or, without a site, what the part after "||" must start with. */
  text: string;
  local: boolean;
}

/**
 * The job `given` names (exactly, or by a unique prefix): its full id and queue. ERR_JOB_NOT_FOUND when
 * none matches; ERR_JOB_AMBIGUOUS, listing the candidates, when several do.
 */
export async function resolveJobRef(redis: Redis, bench: BenchConfig, site: string | undefined, given: string, queue?: string): Promise<JobMatch> {
  const id = resolveJobId(site, given);
  const exact = await locateJob(redis, bench, id, queue);
  if (exact.length > 0) return { id, queue: (exact.length === 1 ? (exact[0] as JobRecord) : await requireJob(redis, bench, id, queue)).queue };
  // Without a site, an id without "SITE||" is matched against the part after it, on every site.
  const prefix: Prefix = { text: id, local: !id.includes(SITE_SEPARATOR) };
  const localPart = prefix.local ? id : id.slice(id.indexOf(SITE_SEPARATOR) + SITE_SEPARATOR.length);
  if (localPart.length < JOB_PREFIX_MIN) throw notFound(id);
  const { matches, truncated } = await findByPrefix(redis, bench, prefix, queue);
  if (matches.length === 1) return matches[0] as JobMatch;
  if (matches.length === 0) {
    const err = notFound(id);
    const where = truncated ? ` among the first ${PREFIX_SCAN_LIMIT} ids of each of its queue's lists; give the whole id` : '';
    throw new BenchError('ERR_JOB_NOT_FOUND', `${err.message}, and no job id starts with it${where}`, { details: { jobId: id } });
  }
  const more = matches.length >= PREFIX_CANDIDATES ? ', …' : '';
  throw new BenchError(
    'ERR_JOB_AMBIGUOUS',
    `job id prefix "${id}" matches ${matches.length >= PREFIX_CANDIDATES ? `${PREFIX_CANDIDATES} or more` : matches.length} jobs: ${matches.map((m) => `${m.id} (${m.queue})`).join(', ')}${more}; give more of the id${queue === undefined ? ' or name the queue with --queue' : ''}`,
    { details: { prefix: id, candidates: matches } },
  );
}

/** Ids starting with the prefix in the queues' structures, up to PREFIX_CANDIDATES distinct jobs. */
async function findByPrefix(redis: Redis, bench: BenchConfig, prefix: Prefix, queue: string | undefined): Promise<{ matches: JobMatch[]; truncated: boolean }> {
  const matches = new Map<string, JobMatch>();
  let truncated = false;
  const matchesId = prefix.local
    ? (id: string) => {
        const at = id.indexOf(SITE_SEPARATOR);
        return at !== -1 && id.startsWith(prefix.text, at + SITE_SEPARATOR.length);
      }
    : (id: string) => id.startsWith(prefix.text);
  const pattern = `${prefix.local ? `*${globEscape(SITE_SEPARATOR)}` : ''}${globEscape(prefix.text)}*`;
  const add = (id: string, q: string): boolean => {
    if (matchesId(id)) matches.set(`${q}\n${id}`, { id, queue: q });
    return matches.size >= PREFIX_CANDIDATES;
  };
  for (const q of selectQueues(bench, queue)) {
    const k = queueKeys(bench.settings.bench_id, q);
    for (const key of [k.active, k.delayed, k.failed, k.finished]) {
      const result = await zsetScan(redis, key, pattern, (id) => add(id, q));
      truncated ||= result === 'limit';
      if (matches.size >= PREFIX_CANDIDATES) return { matches: [...matches.values()], truncated };
    }
    let seen = 0;
    for await (const window of pendingWindows(redis, k, prefix.local ? undefined : siteOf(prefix.text))) {
      for (const { id } of window) if (add(id, q)) return { matches: [...matches.values()], truncated };
      seen += window.length;
      if (seen >= PREFIX_SCAN_LIMIT) {
        truncated = true;
        break;
      }
    }
  }
  return { matches: [...matches.values()], truncated };
}

/** ZSCAN a sorted set with MATCH; `found` returns true to stop. 'limit' when PREFIX_SCAN_LIMIT cut it short. */
async function zsetScan(redis: Redis, key: string, pattern: string, found: (id: string) => boolean): Promise<'done' | 'stopped' | 'limit'> {
  let cursor = '0';
  let examined = 0;
  do {
    const [next, flat] = await redis.zscan(key, cursor, 'MATCH', pattern, 'COUNT', ZSET_WINDOW);
    for (let i = 0; i < flat.length; i += 2) if (found(flat[i] as string)) return 'stopped';
    cursor = next;
    examined += ZSET_WINDOW;
    if (cursor !== '0' && examined >= PREFIX_SCAN_LIMIT) return 'limit';
  } while (cursor !== '0');
  return 'done';
}

/** `text` as a literal in a Redis glob pattern. */
function globEscape(text: string): string {
  return text.replace(/[\\*?[\]]/g, '\\$&');
}
