// What the read handlers take from a request, checked: the queue of the path (404 when the bench has no
// such queue), whole numbers of the query string within their range (400), and the sites the principal
// may see (exact names, never prefixes). Also the Redis clock the handlers time things by: job times
// (enq, started, ended) are written with it, so an age computed with the dashboard's own clock would be
// off by the two machines' skew.
import { listSites, type BenchConfig } from '../../config/load.js';
import { HttpError, seesSite, type ApiContext, type Principal } from '../types.js';

/** The queue named by the route's :queue (or the `queue` query parameter), as the bench spells it. */
export function queueParam(ctx: ApiContext, from: 'params' | 'query' = 'params'): string {
  const name = from === 'params' ? ctx.params['queue'] : (ctx.query.get('queue') ?? undefined);
  const queue = ctx.bench().queues.find((q) => q.name === name);
  if (!queue) throw new HttpError(404, 'ERR_QUEUE_UNKNOWN', `no queue "${name ?? ''}": the bench's queues are ${queueNames(ctx.bench()).join(', ')}`);
  return queue.name;
}

export function queueNames(bench: BenchConfig): string[] {
  return bench.queues.map((q) => q.name);
}

/** The whole number of query parameter `name`, `fallback` when absent; 400 outside [min, max]. */
export function intParam(ctx: ApiContext, name: string, fallback: number, min: number, max: number): number {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new HttpError(400, 'ERR_USAGE', `${name} must be a whole number from ${min} to ${max}, found "${raw.slice(0, 40)}"`);
  }
  return value;
}

/** The `site` query parameter, if given; 404 ERR_SITE_NOT_FOUND when the principal may not see it. */
export function siteParam(ctx: ApiContext): string | undefined {
  const site = ctx.query.get('site') ?? '';
  if (site === '') return undefined;
  if (!seesSite(ctx.principal, site)) throw new HttpError(404, 'ERR_SITE_NOT_FOUND', `no site "${site.slice(0, 200)}"`);
  return site;
}

/** A site-limited principal's sites, sorted; undefined for one who sees every site. */
export function limitedSites(principal: Principal): string[] | undefined {
  return principal.sites === undefined ? undefined : [...principal.sites].sort();
}

/** The sites of the bench (folders with a site_config.json) the principal may see, sorted. */
export function visibleBenchSites(ctx: ApiContext): string[] {
  return listSites(ctx.bench())
    .filter((site) => seesSite(ctx.principal, site))
    .sort();
}

/** Epoch ms by the Redis server's clock. */
export { redisNow } from '../../redis/clock.js';

/** `value`, or null when undefined (payloads keep every field, so the UI never tests for absence). */
export function orNull<T>(value: T | undefined): T | null {
  return value === undefined ? null : value;
}
