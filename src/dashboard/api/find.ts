// GET /api/find?q=…&limit=…: the search box. The query text is monitor/find.ts's (a job id or its start,
// method=…, site=…, or <kwarg>=<value> for a key of dashboard_index_keys), answered within the sites the
// user may see, as list rows (jobs.ts jobSummary).
import { findJobs, FIND_DEFAULT_LIMIT, FIND_MAX_LIMIT } from '../../monitor/find.js';
import { HttpError, type ApiContext } from '../types.js';
import { jobSummary } from './jobs.js';
import { intParam } from './params.js';

export async function find(ctx: ApiContext): Promise<unknown> {
  const q = (ctx.query.get('q') ?? '').trim();
  if (q === '') throw new HttpError(400, 'ERR_USAGE', 'q is required: a job id, method=…, site=… or key=value');
  const limit = intParam(ctx, 'limit', FIND_DEFAULT_LIMIT, 1, FIND_MAX_LIMIT);
  const sites = ctx.principal.sites === undefined ? undefined : [...ctx.principal.sites];
  const result = await findJobs(ctx.redis, ctx.bench(), q, { limit, sites });
  return { query: result.query, via: result.via, partial: result.partial, jobs: result.jobs.map(jobSummary) };
}
