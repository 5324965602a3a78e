// /metrics (src/dashboard/metrics.ts) against a real redis-server, fed the way the dashboard feeds it:
// the bench's job events channel subscribed, each message parsed and given to observeEvent, while real
// workers run real jobs. Asserts the families and their values (jobs by state, processed totals from the
// history counters, latency, duration and wait histograms, workers, scheduler lease), that a job with a
// user (published to two rooms) is observed once, that the processed counter never goes down when a day
// of history expires, that site/method labels appear only when metrics_labels allows them, that a
// site-limited principal is refused, and that `promtool check metrics` accepts the text (when installed).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { BenchConfig } from '../../src/config/load.ts';
import { benchKeys, queueKeys } from '../../src/redis/keys.ts';
import { MS_PER_MINUTE } from '../../src/monitor/history.ts';
import { SchedulerLease } from '../../src/scheduler/lease.ts';
import { DashboardMetrics, type MetricsContext } from '../../src/dashboard/metrics.ts';
import { ADMIN, rejectsWith, viewerOf } from '../helpers/dashboard-context.ts';
import { startSupervisor, stopped, waitForStatus } from '../helpers/jobs.ts';
import { useMonitorBenches, SHORT_SITE, SITE, type Fresh } from '../helpers/monitor.ts';
import { waitFor } from '../helpers/wait-for.ts';

const benches = useMonitorBenches();

const promtool = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();

/** The context of a scrape, with metrics_labels set to `labels` when given. */
async function scrape(fresh: Fresh, labels?: BenchConfig['settings']['metrics_labels']): Promise<MetricsContext> {
  const redis = await fresh.client.connection();
  const bench = (): BenchConfig => (labels === undefined ? fresh.client.bench : { ...fresh.client.bench, settings: { ...fresh.client.bench.settings, metrics_labels: labels } });
  return { bench, redis, principal: ADMIN };
}

/** The value of the sample `series` (name and labels as printed), or undefined when absent. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Subscribe to the bench's events channel and hand each parsed message to `metrics`, as the dashboard does. */
async function feed(fresh: Fresh, metrics: DashboardMetrics): Promise<Redis> {
  const subscriber = new Redis(benches.redis.url);
  subscriber.on('message', (_channel: string, message: string) => metrics.observeEvent(JSON.parse(message) as unknown));
  await subscriber.subscribe(benchKeys(fresh.bench.benchId).events);
  return subscriber;
}

describe('/metrics', () => {
  it('exposes jobs, processed totals, latency, histograms, workers and the scheduler lease', { timeout: 60_000 }, async () => {
    const fresh = await benches.fresh();
    const { client, bench } = fresh;
    const metrics = new DashboardMetrics();
    const subscriber = await feed(fresh, metrics);
    const worker = startSupervisor(bench, { queues: ['default'] });
    try {
      const before = await metrics.renderMetrics(await scrape(fresh));
      assert.equal(valueOf(before, 'bench_worker_jobs_processed_total{queue="default",outcome="finished"}'), 0);
      await worker.ready();
      const ids = [
        await client.enqueue('testapp.tasks.echo', { site: SITE }),
        await client.enqueue('testapp.tasks.echo', { site: SITE, user: 'alice@example.com' }),
        await client.enqueue('testapp.tasks.sleep', { site: SHORT_SITE, kwargs: { ms: 300 } }),
      ];
      const failed = await client.enqueue('testapp.tasks.fail', { site: SHORT_SITE });
      for (const id of ids) await waitForStatus(benches.redis.client, bench, 'default', id, 'finished');
      await waitForStatus(benches.redis.client, bench, 'default', failed, 'failed');
      await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'short' });

      // Events arrive on their own connection: scrape until the four ends are observed.
      const text = await waitFor(async () => {
        const t = await metrics.renderMetrics(await scrape(fresh));
        return valueOf(t, 'bench_worker_job_duration_seconds_count{queue="default"}') === 4 ? t : undefined;
      }, { what: 'four job ends observed' });
      assert.ok(text.endsWith('\n'));
      assert.equal(valueOf(text, 'bench_worker_jobs{queue="default",state="finished"}'), 3);
      assert.equal(valueOf(text, 'bench_worker_jobs{queue="default",state="failed"}'), 1);
      assert.equal(valueOf(text, 'bench_worker_jobs{queue="short",state="queued"}'), 1);
      assert.equal(text.includes('state="canceled"'), false, 'canceled jobs are not counted');
      assert.equal(valueOf(text, 'bench_worker_jobs_processed_total{queue="default",outcome="finished"}'), 3);
      assert.equal(valueOf(text, 'bench_worker_jobs_processed_total{queue="default",outcome="failed"}'), 1);
      assert.equal(valueOf(text, 'bench_worker_jobs_processed_total{queue="short",outcome="finished"}'), 0);
      assert.ok((valueOf(text, 'bench_worker_job_duration_seconds_bucket{queue="default",le="0.25"}') ?? 9) <= 3, 'the 300 ms job is above 0.25 s');
      assert.equal(valueOf(text, 'bench_worker_job_duration_seconds_bucket{queue="default",le="+Inf"}'), 4);
      assert.ok((valueOf(text, 'bench_worker_job_duration_seconds_sum{queue="default"}') ?? 0) >= 0.3);
      assert.equal(valueOf(text, 'bench_worker_job_wait_seconds_count{queue="default"}'), 4, 'one wait per started job');
      assert.ok((valueOf(text, 'bench_worker_queue_latency_seconds{queue="short"}') ?? 0) >= 0);
      assert.equal(valueOf(text, 'bench_worker_queue_latency_seconds{queue="default"}'), 0);
      assert.equal(valueOf(text, 'bench_worker_workers{queue="default",state="idle"}') ?? 0, 1);
      assert.equal(valueOf(text, 'bench_worker_workers{queue="short",state="idle"}'), 0);
      assert.equal(valueOf(text, 'bench_worker_scheduler_up'), 0);
      for (const family of ['bench_worker_jobs', 'bench_worker_jobs_processed_total', 'bench_worker_queue_latency_seconds', 'bench_worker_job_duration_seconds', 'bench_worker_job_wait_seconds', 'bench_worker_workers', 'bench_worker_scheduler_up']) {
        assert.match(text, new RegExp(`^# HELP ${family} \\S`, 'm'));
        assert.match(text, new RegExp(`^# TYPE ${family} (gauge|counter|histogram)$`, 'm'));
      }
      for (const [, name] of text.matchAll(/^# TYPE (\S+) gauge$/gm)) assert.ok(!/_count$|_total$/.test(name as string), `gauge ${name} has a counter suffix`);
      assert.equal(/site=|method=/.test(text), false, 'no site or method label unless metrics_labels allows it');
      rendered.push(text);

      const later = await waitFor(async () => {
        const t = await metrics.renderMetrics(await scrape(fresh));
        return (valueOf(t, 'bench_worker_queue_latency_seconds{queue="short"}') ?? 0) >= 0.1 ? t : undefined;
      }, { what: 'the short queue latency to reach 0.1 s' });
      assert.ok((valueOf(later, 'bench_worker_queue_latency_seconds{queue="short"}') ?? 0) < 60);

      const lease = new SchedulerLease(await client.connection(), bench.benchId, { ttlMs: 60_000 });
      assert.equal(await lease.acquire(), true);
      try {
        assert.equal(valueOf(await metrics.renderMetrics(await scrape(fresh)), 'bench_worker_scheduler_up'), 1);
      } finally {
        await lease.release();
      }
    } finally {
      subscriber.disconnect();
      await stopped(worker);
    }
  });

  it('keeps the processed counter monotonic: minutes gained are added once, an expired day takes nothing away', async () => {
    const fresh = await benches.fresh();
    const metrics = new DashboardMetrics();
    const redis = benches.redis.client;
    const series = 'bench_worker_jobs_processed_total{queue="long",outcome="stopped"}';
    const read = async () => valueOf(await metrics.renderMetrics(await scrape(fresh)), series);
    assert.equal(await read(), 0, 'the first scrape is the baseline');
    const [sec] = await redis.time();
    const minute = Math.floor((Number(sec) * 1000) / MS_PER_MINUTE) * MS_PER_MINUTE;
    const key = queueKeys(fresh.bench.benchId, 'long').history(Math.floor(minute / 86_400_000));
    const field = `${(minute % 86_400_000) / MS_PER_MINUTE}:s`;
    await redis.hincrby(key, field, 5);
    const first = await read();
    // The scrape may have fallen in the next minute (then the 5 were seen as a new minute): 5 either way.
    assert.equal(first, 5);
    await redis.hincrby(key, field, 2);
    assert.equal(await read(), 7);
    assert.equal(await read(), 7, 'a scrape with nothing new adds nothing');
    await redis.del(key);
    assert.equal(await read(), 7, 'the counters expiring does not take the total down');
  });

  it('observes a job event once (not again from its user room), and ignores what is not a job event', async () => {
    const fresh = await benches.fresh();
    const metrics = new DashboardMetrics();
    const message = { job_id: `${SITE}||x`, method: 'testapp.tasks.echo', queue: 'default', status: 'finished', attempt: 1, duration_ms: 20 };
    metrics.observeEvent({ event: 'job_finished', message, room: `job:${SITE}||x`, namespace: SITE });
    metrics.observeEvent({ event: 'job_finished', message, room: 'user:alice', namespace: SITE });
    for (const junk of [null, 'text', [], { event: 'job_finished' }, { event: 'job_finished', message: { queue: 'default' } }, { event: 'job_finished', message: { ...message, duration_ms: -1 } }]) metrics.observeEvent(junk);
    const text = await metrics.renderMetrics(await scrape(fresh));
    assert.equal(valueOf(text, 'bench_worker_job_duration_seconds_count{queue="default"}'), 1);
    assert.equal(valueOf(text, 'bench_worker_job_duration_seconds_bucket{queue="default",le="0.01"}'), 0);
    assert.equal(valueOf(text, 'bench_worker_job_duration_seconds_bucket{queue="default",le="0.025"}'), 1);
  });

  it('adds site and method labels only as metrics_labels allows, and refuses a site-limited principal', async () => {
    const fresh = await benches.fresh();
    const metrics = new DashboardMetrics();
    await fresh.client.enqueue('testapp.tasks.echo', { site: SHORT_SITE, queue: 'short' });
    const ended = (site: string, method: string) => ({ event: 'job_failed', message: { job_id: `${site}||y`, method, queue: 'short', duration_ms: 5 }, room: `job:${site}||y`, namespace: site });
    metrics.observeEvent(ended(SITE, 'app.a'));
    metrics.observeEvent(ended(SHORT_SITE, 'app.b'));
    const bySite = await metrics.renderMetrics(await scrape(fresh, ['site']));
    assert.equal(valueOf(bySite, `bench_worker_jobs{queue="short",site="${SHORT_SITE}",state="queued"}`), 1);
    assert.equal(valueOf(bySite, `bench_worker_jobs{queue="short",site="${SITE}",state="queued"}`), 0);
    assert.equal(valueOf(bySite, `bench_worker_job_duration_seconds_count{queue="short",site="${SITE}"}`), 1);
    assert.equal(bySite.includes('method='), false);
    const both = await metrics.renderMetrics(await scrape(fresh, ['site', 'method']));
    assert.equal(valueOf(both, `bench_worker_job_duration_seconds_count{queue="short",site="${SHORT_SITE}",method="app.b"}`), 1);
    const none = await metrics.renderMetrics(await scrape(fresh, []));
    assert.equal(valueOf(none, 'bench_worker_job_duration_seconds_count{queue="short"}'), 2, 'summed over sites and methods');
    await rejectsWith(metrics.renderMetrics({ ...(await scrape(fresh)), principal: viewerOf(SITE) }), 403, 'ERR_FORBIDDEN');
    rendered.push(both);
  });

  it('passes `promtool check metrics` (rc 0)', { skip: promtool ? false : 'promtool is not installed (Debian: apt-get install prometheus); the exposition was not checked by it' }, () => {
    assert.equal(rendered.length, 2, 'the tests above rendered a text without and one with extra labels');
    const check = (input: string) => spawnSync(promtool as string, ['check', 'metrics'], { input, encoding: 'utf8' });
    for (const text of rendered) {
      const result = check(text);
      assert.equal(result.status, 0, `promtool: ${result.stdout}${result.stderr}\n--- text ---\n${text}`);
    }
    // The check can fail: the same text without its last line feed is refused.
    assert.notEqual(check((rendered[0] as string).slice(0, -1)).status, 0);
  });
});

const rendered: string[] = [];
