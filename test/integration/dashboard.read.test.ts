// The dashboard's read handlers (src/dashboard/api/read.ts) against a real redis-server and real jobs run
// by real workers: counts by state, latency, workers, unserved and paused queues in the overview; pages of
// a queue's jobs; a job's whole record with every attempt's error; workers, sites, scheduler and the
// per-minute history. A viewer limited to a.com sees only a.com's jobs (never a.com.au's: exact names),
// and gets 404s for the rest. Large queues: dashboard.read.large.test.ts.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { queueKeys } from '../../src/redis/keys.ts';
import { MS_PER_MINUTE } from '../../src/monitor/history.ts';
import { SchedulerLease } from '../../src/scheduler/lease.ts';
import { history, job, overview, queueJobs, scheduler, sites, workers, type WorkerView } from '../../src/dashboard/api/read.ts';
import type { QueueOverview } from '../../src/dashboard/api/overview.ts';
import { ADMIN, context, rejectsWith, viewerOf } from '../helpers/dashboard-context.ts';
import { startSupervisor, stopped, waitForStatus, type RunningSupervisor } from '../helpers/jobs.ts';
import { useMonitorBenches, LONG_SITE, runningJob, SHORT_SITE, SITE, type Fresh } from '../helpers/monitor.ts';
import { writeSchedApp } from '../helpers/scheduler.ts';
import { waitFor } from '../helpers/wait-for.ts';

let built: Promise<Scenario> | undefined;
// Registered before useMonitorBenches' own after(), which stops Redis: hooks run in that order.
after(async () => {
  const s = await built;
  if (!s) return;
  // A warm stop waits for running jobs: the held one is stopped first.
  await s.fresh.client.stopJob(SHORT_SITE, s.held).catch(() => undefined);
  for (const supervisor of s.supervisors) await stopped(supervisor);
});

const benches = useMonitorBenches();
const SHORT_ONLY = viewerOf(SHORT_SITE);
const LONG_ONLY = viewerOf(LONG_SITE);

interface Scenario {
  fresh: Fresh;
  finished: string[];
  failed: string[];
  retried: string;
  held: string;
  queued: string[];
  canceled: string;
  scheduled: string;
  supervisors: RunningSupervisor[];
  enqueuedAt: number;
}

/**
 * One bench for the handler tests: on `default`, echo jobs finished (3 of site1.test, 2 of a.com, 1 of
 * a.com.au), failed jobs (2 of a.com, 1 of a.com.au, and one of a.com failed twice under a retry policy),
 * one a.com job scheduled an hour ahead; on `long`, one a.com job running; on `short` (no worker), 2 a.com
 * and 1 a.com.au jobs queued, and one canceled.
 */
function scenario(): Promise<Scenario> {
  built ??= (async () => {
    const fresh = await benches.fresh();
    const { client, bench } = fresh;
    const redis = benches.redis.client;
    const echo = (site: string) => client.enqueue('testapp.tasks.echo', { site, kwargs: { site, n: 1 } });
    const finished = [await echo(SITE), await echo(SITE), await echo(SITE), await echo(SHORT_SITE), await echo(SHORT_SITE), await echo(LONG_SITE)];
    const fail = (site: string, message: string) => client.enqueue('testapp.tasks.fail', { site, kwargs: { message } });
    const failed = [await fail(SHORT_SITE, 'boom a'), await fail(SHORT_SITE, 'boom b'), await fail(LONG_SITE, 'boom long')];
    const retried = await client.enqueue('testapp.tasks.fail', { site: SHORT_SITE, user: 'alice@example.com', kwargs: { message: 'boom twice' }, retry: { max: 1, intervals: [0.2], jitter: false } });
    const scheduled = await client.enqueue('testapp.tasks.echo', { site: SHORT_SITE, inSeconds: 3600 });
    const worker = startSupervisor(bench, { queues: ['default'] });
    for (const id of finished) await waitForStatus(redis, bench, 'default', id, 'finished');
    for (const id of [...failed, retried]) await waitForStatus(redis, bench, 'default', id, 'failed');
    const { id: held, supervisor: holder } = await runningJob(fresh, SHORT_SITE, 'long');
    const enqueuedAt = Date.now();
    const queued = [await client.enqueue('testapp.tasks.echo', { site: SHORT_SITE, queue: 'short' }), await client.enqueue('testapp.tasks.echo', { site: SHORT_SITE, queue: 'short' }), await client.enqueue('testapp.tasks.echo', { site: LONG_SITE, queue: 'short' })];
    const canceled = await client.enqueue('testapp.tasks.echo', { site: LONG_SITE, queue: 'short' });
    await client.cancelJob(LONG_SITE, canceled);
    return { fresh, finished, failed: [...failed, retried], retried, held, queued, canceled, scheduled, supervisors: [worker, holder], enqueuedAt };
  })();
  return built;
}


const byQueue = (queues: QueueOverview[], name: string): QueueOverview => queues.find((q) => q.queue === name) as QueueOverview;

describe('overview', () => {
  it('counts every state per queue in priority order, with latency, workers, unserved and paused', { timeout: 60_000 }, async () => {
    const s = await scenario();
    const { client } = s.fresh;
    // The oldest queued job of `short` has waited at least 100 ms, and no longer than since it was enqueued.
    const seen = await waitFor(async () => {
      const o = await overview(await context(client, ADMIN));
      return byQueue(o.queues, 'short').latencyMs >= 100 ? o : undefined;
    }, { what: 'the short queue to show a latency of 100 ms' });
    assert.ok(byQueue(seen.queues, 'short').latencyMs <= Date.now() - s.enqueuedAt + 50);
    assert.deepEqual(seen.queues.map((q) => q.queue), ['short', 'default', 'long']);
    assert.equal(seen.restricted, false);
    assert.match(seen.notCounted.canceled, /no list or set/);
    const [short, dflt, long] = seen.queues as [QueueOverview, QueueOverview, QueueOverview];
    assert.deepEqual(short.counts, { queued: 3, scheduled: 0, started: 0, finished: 0, failed: 0, stopped: 0, canceled: null });
    assert.equal(short.workers, 0);
    assert.equal(short.unserved, true, 'jobs wait and no worker listens');
    assert.deepEqual(dflt.counts, { queued: 0, scheduled: 1, started: 0, finished: 6, failed: 4, stopped: 0, canceled: null });
    assert.equal(dflt.latencyMs, 0);
    assert.equal(dflt.workers, 1);
    assert.equal(dflt.unserved, false);
    assert.deepEqual(long.counts, { queued: 0, scheduled: 0, started: 1, finished: 0, failed: 0, stopped: 0, canceled: null });
    assert.equal(long.workers, 1);
    assert.deepEqual(short.uncounted, []);
    assert.equal(short.paused, false);

    await client.pauseQueue('short', 'test');
    try {
      assert.equal(byQueue((await overview(await context(client, ADMIN))).queues, 'short').paused, true);
    } finally {
      await client.resumeQueue('short', 'test');
    }
  });

  it("shows a site-limited viewer its own sites' counts and latency only", { timeout: 60_000 }, async () => {
    const s = await scenario();
    const o = await overview(await context(s.fresh.client, SHORT_ONLY));
    assert.equal(o.restricted, true);
    assert.deepEqual(byQueue(o.queues, 'short').counts, { queued: 2, scheduled: 0, started: 0, finished: 0, failed: 0, stopped: 0, canceled: null });
    assert.deepEqual(byQueue(o.queues, 'default').counts, { queued: 0, scheduled: 1, started: 0, finished: 2, failed: 3, stopped: 0, canceled: null });
    assert.deepEqual(byQueue(o.queues, 'long').counts, { queued: 0, scheduled: 0, started: 1, finished: 0, failed: 0, stopped: 0, canceled: null });
    const longOnly = await overview(await context(s.fresh.client, LONG_ONLY));
    assert.deepEqual(byQueue(longOnly.queues, 'default').counts, { queued: 0, scheduled: 0, started: 0, finished: 1, failed: 1, stopped: 0, canceled: null });
    assert.equal(byQueue(longOnly.queues, 'long').counts.started, 0, "a.com's running job is not a.com.au's");
    assert.ok(byQueue(longOnly.queues, 'short').latencyMs > 0);
    const nobody = await overview(await context(s.fresh.client, viewerOf('other.test')));
    assert.equal(byQueue(nobody.queues, 'short').latencyMs, 0, 'no job of its sites waits');
    assert.equal(byQueue(nobody.queues, 'short').unserved, false);
  });
});

describe('queueJobs', () => {
  it('pages a queue by state, newest failure first, filtered by site and by the principal', { timeout: 60_000 }, async () => {
    const s = await scenario();
    const { client } = s.fresh;
    const page = await queueJobs(await context(client, ADMIN, { params: { queue: 'default' }, query: { state: 'failed' } }));
    assert.equal(page.total, 4);
    assert.deepEqual(new Set(page.jobs.map((j) => j.id)), new Set(s.failed));
    assert.ok(page.jobs.every((j, i) => i === 0 || (j.endedAt ?? 0) <= (page.jobs[i - 1]?.endedAt ?? 0)), 'newest failure first');
    assert.ok(page.jobs.every((j) => j.status === 'failed' && j.error?.message.startsWith('boom')));
    const second = await queueJobs(await context(client, ADMIN, { params: { queue: 'default' }, query: { state: 'failed', offset: '1', limit: '2' } }));
    assert.deepEqual(second.jobs.map((j) => j.id), page.jobs.slice(1, 3).map((j) => j.id));
    assert.equal(second.total, 4);

    const mine = await queueJobs(await context(client, SHORT_ONLY, { params: { queue: 'default' }, query: { state: 'failed' } }));
    assert.equal(mine.total, 3);
    assert.ok(mine.jobs.every((j) => j.site === SHORT_SITE));
    const finished = await queueJobs(await context(client, ADMIN, { params: { queue: 'default' }, query: { state: 'finished', offset: '1', limit: '3' } }));
    assert.equal(finished.total, 6);
    assert.equal(finished.jobs.length, 3);
    assert.ok(finished.jobs.every((j) => j.status === 'finished' && s.finished.includes(j.id)));
    const scheduled = await queueJobs(await context(client, ADMIN, { params: { queue: 'default' }, query: { state: 'scheduled' } }));
    assert.deepEqual([scheduled.total, scheduled.jobs.map((j) => j.id)], [1, [s.scheduled]]);
    assert.ok((scheduled.jobs[0]?.dueAt ?? 0) > Date.now() + 3_000_000, 'due in an hour');
    const started = await queueJobs(await context(client, ADMIN, { params: { queue: 'long' }, query: { state: 'started' } }));
    assert.deepEqual([started.total, started.jobs.map((j) => j.id)], [1, [s.held]]);
    const queuedAll = await queueJobs(await context(client, ADMIN, { params: { queue: 'short' }, query: { offset: '1' } }));
    assert.equal(queuedAll.total, 3);
    assert.deepEqual(new Set(queuedAll.jobs.map((j) => j.id)).size, 2);
    const queuedShort = await queueJobs(await context(client, ADMIN, { params: { queue: 'short' }, query: { site: LONG_SITE } }));
    assert.deepEqual(queuedShort.jobs.map((j) => j.id), [s.queued[2]]);
    assert.equal(queuedShort.site, LONG_SITE);

    // Limited to two sites: their jobs merged (finished: 3 + 2), never a.com.au's.
    const two = viewerOf(SITE, SHORT_SITE);
    const merged = await queueJobs(await context(client, two, { params: { queue: 'default' }, query: { state: 'finished', limit: '4' } }));
    assert.equal(merged.total, 5);
    assert.equal(merged.jobs.length, 4);
    assert.deepEqual(merged.sites, [SHORT_SITE, SITE]);
    const all = await queueJobs(await context(client, two, { params: { queue: 'default' }, query: { state: 'finished' } }));
    assert.deepEqual(new Set(all.jobs.map((j) => j.id)), new Set(s.finished.slice(0, 5)));
  });

  it('refuses an unknown queue (404), a bad state or limit (400), and a site the viewer may not see (404)', async () => {
    const s = await scenario();
    const { client } = s.fresh;
    await rejectsWith(queueJobs(await context(client, ADMIN, { params: { queue: 'nope' } })), 404, 'ERR_QUEUE_UNKNOWN');
    await rejectsWith(queueJobs(await context(client, ADMIN, { params: { queue: 'short' }, query: { state: 'canceled' } })), 400, 'ERR_USAGE');
    await rejectsWith(queueJobs(await context(client, ADMIN, { params: { queue: 'short' }, query: { limit: '201' } })), 400, 'ERR_USAGE');
    await rejectsWith(queueJobs(await context(client, ADMIN, { params: { queue: 'short' }, query: { offset: '-1' } })), 400, 'ERR_USAGE');
    await rejectsWith(queueJobs(await context(client, SHORT_ONLY, { params: { queue: 'short' }, query: { site: LONG_SITE } })), 404, 'ERR_SITE_NOT_FOUND');
  });
});

describe('job', () => {
  it('returns the whole record: kwargs, user, timings, attempts, every error with its stack, the result', { timeout: 60_000 }, async () => {
    const s = await scenario();
    const { client } = s.fresh;
    const twice = await job(await context(client, SHORT_ONLY, { params: { id: s.retried } }));
    assert.equal(twice.status, 'failed');
    assert.equal(twice.user, 'alice@example.com');
    assert.equal(twice.attempts, 2);
    assert.deepEqual(twice.errors.map((e) => e.message), ['boom twice', 'boom twice']);
    assert.ok(twice.errors.every((e) => e.stack?.includes('boom twice') && /tasks\.ts/.test(e.stack)), 'each error keeps its stack');
    assert.equal(twice.error?.message, 'boom twice');
    assert.deepEqual(twice.retryPolicy, { max: 1, intervals: [0.2], jitter: false });
    assert.deepEqual(twice.kwargs, { message: 'boom twice' });
    const t = twice.timings;
    assert.ok(t.dueAt !== null && t.dueAt >= t.enqueuedAt, 'the retry was due after the enqueue');
    assert.ok(t.startedAt !== null && t.endedAt !== null && t.startedAt >= (t.dueAt ?? 0) && t.endedAt >= t.startedAt);
    assert.equal(t.waitMs, (t.startedAt ?? 0) - (t.dueAt ?? 0));
    assert.equal(t.runMs, (t.endedAt ?? 0) - (t.startedAt ?? 0));

    const done = await job(await context(client, ADMIN, { params: { id: s.finished[0] as string } }));
    assert.equal(done.status, 'finished');
    assert.deepEqual(done.result, { site: SITE, n: 1 });
    assert.deepEqual(done.errors, []);
    assert.equal(done.timings.dueAt, null);
    assert.equal(done.timings.waitMs, (done.timings.startedAt ?? 0) - done.timings.enqueuedAt);
    assert.equal(done.method, 'testapp.tasks.echo');
    assert.equal(done.site, SITE);

    const canceled = await job(await context(client, ADMIN, { params: { id: s.canceled } }));
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.timings.startedAt, null);
    assert.equal(canceled.timings.waitMs, null);
  });

  it("404s a missing job, a malformed id, and another site's job (a.com.au is not a.com)", async () => {
    const s = await scenario();
    const { client } = s.fresh;
    await rejectsWith(job(await context(client, SHORT_ONLY, { params: { id: s.failed[2] as string } })), 404, 'ERR_JOB_NOT_FOUND');
    await rejectsWith(job(await context(client, LONG_ONLY, { params: { id: s.retried } })), 404, 'ERR_JOB_NOT_FOUND');
    await rejectsWith(job(await context(client, ADMIN, { params: { id: `${SITE}||no-such-job` } })), 404, 'ERR_JOB_NOT_FOUND');
    await rejectsWith(job(await context(client, ADMIN, { params: { id: 'bad\nid' } })), 404, 'ERR_JOB_NOT_FOUND');
    await rejectsWith(job(await context(client, ADMIN, { params: {} })), 404, 'ERR_JOB_NOT_FOUND');
  });
});

describe('workers, sites, history', () => {
  it("lists live workers with their jobs, hiding other sites' job ids", { timeout: 60_000 }, async () => {
    const s = await scenario();
    const { client } = s.fresh;
    const busyOf = (list: WorkerView[]) => list.find((w) => w.state === 'busy');
    const seen = await waitFor(async () => {
      const w = await workers(await context(client, ADMIN));
      return w.workers.length === 2 && busyOf(w.workers) ? w : undefined;
    }, { what: 'two workers, one busy' });
    const busy = busyOf(seen.workers) as WorkerView;
    assert.deepEqual(busy.currentJobs, [s.held]);
    assert.equal(busy.hiddenJobs, 0);
    assert.deepEqual(busy.queues, ['long']);
    for (const w of seen.workers) {
      assert.ok(w.host.length > 0 && w.pid > 0 && w.uptimeMs > 0 && w.birth > 0);
      assert.ok(w.utilizationPercent >= 0 && w.utilizationPercent <= 100);
    }
    const hidden = busyOf((await workers(await context(client, LONG_ONLY))).workers) as WorkerView;
    assert.deepEqual(hidden.currentJobs, []);
    assert.equal(hidden.hiddenJobs, 1);
  });

  it('counts jobs per site over every queue, only the sites the principal sees', { timeout: 60_000 }, async () => {
    const s = await scenario();
    const all = await sites(await context(s.fresh.client, ADMIN));
    assert.deepEqual(all.sites.map((r) => r.site), [SHORT_SITE, LONG_SITE, SITE]);
    const row = (site: string) => all.sites.find((r) => r.site === site)?.counts;
    assert.deepEqual(row(SHORT_SITE), { queued: 2, scheduled: 1, started: 1, finished: 2, failed: 3, stopped: 0 });
    assert.deepEqual(row(LONG_SITE), { queued: 1, scheduled: 0, started: 0, finished: 1, failed: 1, stopped: 0 });
    assert.deepEqual(row(SITE), { queued: 0, scheduled: 0, started: 0, finished: 3, failed: 0, stopped: 0 });
    assert.deepEqual(all.uncounted, {});
    const limited = await sites(await context(s.fresh.client, SHORT_ONLY));
    assert.deepEqual(limited.sites.map((r) => r.site), [SHORT_SITE]);
  });

  it('charts the per-minute ends the workers counted, and refuses them to a site-limited viewer', { timeout: 60_000 }, async () => {
    const s = await scenario();
    const { client, bench } = s.fresh;
    const h = await history(await context(client, ADMIN, { query: { queue: 'default', minutes: '10' } }));
    assert.equal(h.available, true);
    assert.equal(h.queues.length, 1);
    const points = h.queues[0]?.points ?? [];
    assert.equal(points.length, 10);
    assert.equal(points[9]?.minute, h.to);
    const sum = (key: 'finished' | 'failed' | 'stopped') => points.reduce((n, p) => n + p[key], 0);
    assert.equal(sum('finished'), 6);
    assert.equal(sum('failed'), 5, 'three failures, and the retried job failed twice (a scheduled retry counts as failed)');
    // A count written five minutes back shows in its own minute.
    const fiveAgo = h.to - 5 * MS_PER_MINUTE;
    const day = Math.floor(fiveAgo / 86_400_000);
    await benches.redis.client.hincrby(queueKeys(bench.benchId, 'long').history(day), `${Math.floor((fiveAgo % 86_400_000) / MS_PER_MINUTE)}:s`, 7);
    const every = await history(await context(client, ADMIN, { query: { minutes: '10' } }));
    assert.deepEqual(every.queues.map((q) => q.queue), ['short', 'default', 'long']);
    const long = every.queues.find((q) => q.queue === 'long')?.points ?? [];
    assert.deepEqual(long.filter((p) => p.stopped > 0), [{ minute: fiveAgo, finished: 0, failed: 0, stopped: 7 }]);
    const refused = await history(await context(client, SHORT_ONLY, { query: { minutes: '10' } }));
    assert.equal(refused.available, false);
    assert.deepEqual(refused.queues, []);
    await rejectsWith(history(await context(client, ADMIN, { query: { minutes: String(7 * 1440 + 1) } })), 400, 'ERR_USAGE');
    await rejectsWith(history(await context(client, ADMIN, { query: { queue: 'nope' } })), 404, 'ERR_QUEUE_UNKNOWN');
  });
});

describe('scheduler', () => {
  it("shows the lease holder and each visible site's scheduled methods with their next run", { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    writeSchedApp(fresh.bench, `export const scheduler_events = { hourly: ['schedapp.tasks.noop'] };\n`);
    const down = await scheduler(await context(fresh.client, ADMIN));
    assert.equal(down.up, false);
    assert.equal(down.holder, null);
    assert.deepEqual(down.sites.map((s) => s.site), [SHORT_SITE, LONG_SITE, SITE]);
    for (const site of down.sites) {
      assert.ok('methods' in site, JSON.stringify(site));
      assert.equal(site.status, 'enabled');
      const [method] = site.methods;
      assert.equal(method?.method, 'schedapp.tasks.noop');
      assert.equal(method?.frequency, 'hourly');
      assert.ok((method?.nextExecution ?? 0) > Date.now());
      assert.equal(method?.lastExecution, null);
    }
    const lease = new SchedulerLease(await fresh.client.connection(), fresh.bench.benchId, { ttlMs: 60_000 });
    assert.equal(await lease.acquire(), true);
    try {
      const up = await scheduler(await context(fresh.client, SHORT_ONLY));
      assert.equal(up.up, true);
      assert.deepEqual(up.holder, { host: lease.holder.host, pid: process.pid, since: lease.holder.since });
      assert.ok(!JSON.stringify(up).includes(lease.holder.token), 'the lease token is not shown');
      assert.deepEqual(up.sites.map((s) => s.site), [SHORT_SITE]);
    } finally {
      await lease.release();
    }
  });
});
