// The dashboard's queue page and counts on large queues, against a real redis-server: a page at offset 0
// and 500,000 of 1,000,000 queued jobs (one site's lane), with and without a site filter, and the
// overview at that size, timed (printed, not asserted); then one site's finished jobs among 200,000,
// which only listJobs can page (every id read, timed) and whose per-site count is past the bound (null).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queueKeys } from '../../src/redis/keys.ts';
import { overview, queueJobs, sites } from '../../src/dashboard/api/read.ts';
import type { QueueOverview } from '../../src/dashboard/api/overview.ts';
import { fillJobs } from '../helpers/bulk-jobs.ts';
import { ADMIN, context, viewerOf } from '../helpers/dashboard-context.ts';
import { useMonitorBenches, SHORT_SITE, SITE } from '../helpers/monitor.ts';

const benches = useMonitorBenches();
const SHORT_ONLY = viewerOf(SHORT_SITE);
const byQueue = (queues: QueueOverview[], name: string): QueueOverview => queues.find((q) => q.queue === name) as QueueOverview;

describe('queueJobs on large queues', () => {
  it('answers a page at offset 0 and 500,000 (timings printed)', { timeout: 120_000 }, async () => {
    const fresh = await benches.fresh({ max_queued_jobs: 2_000_000 });
    const redis = benches.redis.client;
    const k = queueKeys(fresh.bench.benchId, 'default');
    const n = 1_000_000;
    const ids = Array.from({ length: n }, (_, i) => `${SITE}||j${String(i).padStart(7, '0')}`);
    const fillStart = Date.now();
    await fillJobs(redis, k, ids);
    // fillJobs writes the legacy wait list; a bench of today holds them in the site's lane.
    await redis.multi().rename(k.wait, k.lane(SITE)).rpush(k.sites, SITE).set(k.queued, n).exec();
    console.log(`filled ${n} queued jobs in ${Date.now() - fillStart} ms`);
    const time = async (label: string, query: Record<string, string>) => {
      const start = performance.now();
      const page = await queueJobs(await context(fresh.client, ADMIN, { params: { queue: 'default' }, query }));
      console.log(`queueJobs ${label}: ${(performance.now() - start).toFixed(0)} ms (total ${page.total}, ${page.jobs.length} jobs)`);
      return page;
    };
    const first = await time('offset 0, limit 50', {});
    assert.equal(first.total, n);
    assert.equal(first.jobs[0]?.id, ids[0]);
    const deep = await time('offset 500,000, limit 200', { offset: '500000', limit: '200' });
    assert.equal(deep.total, n);
    assert.deepEqual(deep.jobs.map((j) => j.id), ids.slice(500_000, 500_200));
    const bySite = await time('site filter, offset 0', { site: SITE });
    assert.equal(bySite.total, n);
    await time('site filter, offset 500,000', { site: SITE, offset: '500000' });
    for (const principal of [ADMIN, SHORT_ONLY]) {
      const start = performance.now();
      const o = await overview(await context(fresh.client, principal));
      console.log(`overview (${principal.user}): ${(performance.now() - start).toFixed(0)} ms, default queued ${String(byQueue(o.queues, 'default').counts.queued)}`);
    }
  });

  it("reads one site's finished jobs past the per-site count bound by listJobs (timed); their per-site count is null", { timeout: 120_000 }, async () => {
    const fresh = await benches.fresh();
    const redis = benches.redis.client;
    const k = queueKeys(fresh.bench.benchId, 'default');
    const n = 200_000;
    // Finished ids are scored by expiry: an hour from now.
    await fillJobs(redis, k, Array.from({ length: n }, (_, i) => `${i % 2 ? SITE : SHORT_SITE}||f${i}`), { status: 'finished', score: Date.now() + 3_600_000 });
    const start = performance.now();
    const page = await queueJobs(await context(fresh.client, SHORT_ONLY, { params: { queue: 'default' }, query: { state: 'finished', offset: '50000' } }));
    console.log(`queueJobs finished, one site of 2, ${n} in the set, offset 50,000 (listJobs reads every id): ${(performance.now() - start).toFixed(0)} ms`);
    assert.equal(page.total, n / 2);
    assert.ok(page.jobs.every((j) => j.site === SHORT_SITE));
    const admin = byQueue((await overview(await context(fresh.client, ADMIN))).queues, 'default');
    assert.equal(admin.counts.finished, n);
    const limited = byQueue((await overview(await context(fresh.client, SHORT_ONLY))).queues, 'default');
    assert.equal(limited.counts.finished, null);
    assert.deepEqual(limited.uncounted, ['finished']);
    const bySite = await sites(await context(fresh.client, ADMIN));
    assert.deepEqual(bySite.uncounted, { finished: ['default'] });
    assert.equal(bySite.sites.find((r) => r.site === SITE)?.counts.finished, null);
  });
});
