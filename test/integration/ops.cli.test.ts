// The commands Frappe operators script against, run as the real `bench` binary: site selection
// (--site all; FRAPPE_SITE / BENCH_SITE, sites/currentsite.txt, default_site, in that order; an unknown
// site names its source), doctor in Frappe's shape, show-pending-jobs' `method kwargs` lines,
// ready-for-migration's verdict on stdout, purge-jobs of every site behind a confirmation, execute and
// set-maintenance-mode (a site in maintenance still runs its queued jobs).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { type CliResult, failed, ok, runBench, shown } from '../helpers/cli.ts';
import { readJob } from '../helpers/jobs.ts';
import { useMonitorBenches, LONG_SITE, setEvent, SHORT_SITE, SITE, type Fresh } from '../helpers/monitor.ts';
import { queuedCount } from '../helpers/queued.ts';

const benches = useMonitorBenches();

/** Runs `bench` with none of the default-site variables of the test runner's environment. */
const bench = (fresh: Fresh, args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
  runBench(args, { cwd: fresh.bench.path, env: { FRAPPE_SITE: '', BENCH_SITE: '', ...env } });

const siteConfig = (fresh: Fresh, site: string) => JSON.parse(readFileSync(path.join(fresh.bench.path, 'sites', site, 'site_config.json'), 'utf8')) as Record<string, unknown>;

describe('site selection', () => {
  it('without --site: FRAPPE_SITE, then BENCH_SITE, then sites/currentsite.txt, then default_site; an unknown one names its source', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh({ default_site: LONG_SITE });
    const verdict = async (env: NodeJS.ProcessEnv = {}) => ok(await bench(fresh, ['ready-for-migration'], env)).trim();
    assert.equal(await verdict(), `READY for migration: site ${LONG_SITE} does not have any background jobs`);
    writeFileSync(path.join(fresh.bench.path, 'sites', 'currentsite.txt'), `${SHORT_SITE}\n`);
    assert.match(await verdict(), / site a\.com does/);
    assert.match(await verdict({ BENCH_SITE: SITE }), / site site1\.test does/);
    assert.match(await verdict({ BENCH_SITE: LONG_SITE, FRAPPE_SITE: SHORT_SITE }), / site a\.com does/);
    assert.match(ok(await bench(fresh, ['--site', SITE, 'ready-for-migration'], { FRAPPE_SITE: SHORT_SITE })), / site site1\.test does/, '--site wins');

    failed(await bench(fresh, ['ready-for-migration'], { FRAPPE_SITE: 'gone.test' }), 1, /ERR_SITE_NOT_FOUND\]: site "gone\.test" \(from the FRAPPE_SITE environment variable\) not found/);
    writeFileSync(path.join(fresh.bench.path, 'sites', 'currentsite.txt'), 'old.test');
    failed(await bench(fresh, ['show-pending-jobs']), 1, /site "old\.test" \(from sites\/currentsite\.txt\) not found.*sites: a\.com, a\.com\.au, site1\.test/);
    failed(await bench(fresh, ['--site', 'nope.test', 'show-pending-jobs']), 1, /site "nope\.test" \(from --site\) not found/);
  });

  it('a site-scoped command with no site anywhere is a usage error naming every source', async () => {
    const fresh = await benches.fresh();
    failed(await bench(fresh, ['show-pending-jobs']), 2, /ERR_USAGE\]: show-pending-jobs needs a site: .*FRAPPE_SITE \/ BENCH_SITE, sites\/currentsite\.txt or default_site/);
    failed(await bench(fresh, ['--site', 'all', 'enqueue', 'testapp.tasks.echo']), 2, /enqueue works on one site: --site all is not accepted here/);
    failed(await bench(fresh, ['--site', 'all', 'stop-job', 'x']), 2, /stop-job works on one site/);
  });
});

describe('show-pending-jobs', () => {
  it('prints `method kwargs` lines under a header per queue holding jobs, as Frappe; --site all per site', async () => {
    const fresh = await benches.fresh();
    const a = await fresh.client.enqueue('testapp.tasks.add', { site: SITE, kwargs: { a: 1, b: 2 } });
    await fresh.client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' });
    await fresh.client.enqueue('testapp.tasks.echo', { site: SHORT_SITE, kwargs: { x: 'y' } });
    assert.equal(
      ok(await bench(fresh, ['--site', SITE, 'show-pending-jobs'])),
      '-----Pending Jobs-----\n-----Queue :default-----\ntestapp.tasks.add {"a":1,"b":2}\n-----Queue :long-----\ntestapp.tasks.echo\n',
    );
    const json = JSON.parse(ok(await bench(fresh, ['--site', SITE, 'show-pending-jobs', '--json']))) as { site: string; queues: Record<string, { id: string; kwargs: unknown }[]> };
    assert.deepEqual(json.queues['default'], [{ ...json.queues['default']?.[0], id: a, kwargs: { a: 1, b: 2 } }]);
    const all = ok(await bench(fresh, ['--site', 'all', 'show-pending-jobs']));
    assert.equal(all, `-----Pending Jobs-----\nSite a.com\n-----Queue :default-----\ntestapp.tasks.echo {"x":"y"}\nSite a.com.au\nSite site1.test\n-----Queue :default-----\ntestapp.tasks.add {"a":1,"b":2}\n-----Queue :long-----\ntestapp.tasks.echo\n`);
    const allJson = JSON.parse(ok(await bench(fresh, ['--site', 'all', 'show-pending-jobs', '--json']))) as { sites: { site: string }[] };
    assert.deepEqual(allJson.sites.map((s) => s.site), [SHORT_SITE, LONG_SITE, SITE]);
  });
});

describe('ready-for-migration', () => {
  it('prints the verdict on stdout: exit 0 READY, exit 1 NOT READY with what is pending; --site all is ready only when every site is', async () => {
    const fresh = await benches.fresh();
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'ready-for-migration'])), 'READY for migration: site site1.test does not have any background jobs\n');
    await fresh.client.enqueue('testapp.tasks.echo', { site: SITE });
    const notReady = await bench(fresh, ['--site', SITE, 'ready-for-migration']);
    assert.deepEqual([notReady.code, notReady.stderr], [1, ''], shown(notReady));
    assert.equal(notReady.stdout, 'NOT READY for migration: site site1.test has pending background jobs (1 queued, 0 scheduled, 0 running)\n');
    const all = await bench(fresh, ['--site', 'all', 'ready-for-migration']);
    assert.equal(all.code, 1, shown(all));
    assert.match(all.stdout, /^READY for migration: site a\.com does not.*\nREADY for migration: site a\.com\.au does not.*\nNOT READY for migration: site site1\.test has pending/);
    const json = await bench(fresh, ['--site', 'all', 'ready-for-migration', '--json']);
    assert.equal(json.code, 1);
    assert.deepEqual((JSON.parse(json.stdout) as { ready: boolean; sites: { ready: boolean }[] }).sites.map((s) => s.ready), [true, true, false]);
  });
});

describe('purge-jobs', () => {
  it('without --site empties whole queues only after --yes; without a terminal and --yes nothing is deleted', async () => {
    const fresh = await benches.fresh();
    const { benchId } = fresh.bench;
    await fresh.client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE });
    await fresh.client.enqueue('testapp.tasks.echo', { site: SHORT_SITE, queue: 'long' });
    const hourly = await fresh.client.enqueue('testapp.tasks.echo', { site: LONG_SITE });
    await setEvent(benches.redis, benchId, 'default', hourly, 'hourly');
    const lengths = async () => [await queuedCount(benches.redis.client, benchId, 'default'), await queuedCount(benches.redis.client, benchId, 'long')];

    failed(await bench(fresh, ['purge-jobs']), 1, /ERR_CONFIRMATION_REQUIRED\]: delete the queued jobs of every site \(every queue\): needs a confirmation; run it on a terminal to be asked, or pass --yes/);
    failed(await bench(fresh, ['--site', 'all', 'purge-jobs']), 1, /delete the queued jobs of all 3 sites.*--yes/);
    assert.deepEqual(await lengths(), [3, 1], 'nothing deleted without a confirmation');

    assert.equal(ok(await bench(fresh, ['purge-jobs', '--event', 'hourly', '--yes'])), 'purged 1 queued job of every site\n');
    assert.equal(await readJob(benches.redis.client, benchId, 'default', hourly), undefined, 'its record is deleted too');
    assert.deepEqual(JSON.parse(ok(await bench(fresh, ['purge-jobs', '--queue', 'long', '--yes', '--json']))), { site: null, queue: 'long', event: null, count: 1 });
    assert.equal(ok(await bench(fresh, ['purge-jobs', '-y'])), 'purged 2 queued jobs of every site\n');
    assert.deepEqual(await lengths(), [0, 0]);
  });

  it('--site all purges site by site after --yes; a FRAPPE_SITE does not narrow a purge', async () => {
    const fresh = await benches.fresh();
    await fresh.client.enqueue('testapp.tasks.echo', { site: SITE });
    await fresh.client.enqueue('testapp.tasks.echo', { site: SHORT_SITE });
    assert.equal(ok(await bench(fresh, ['--site', 'all', 'purge-jobs', '--yes'])), 'purged 1 queued job of a.com\npurged 0 queued jobs of a.com.au\npurged 1 queued job of site1.test\n');
    await fresh.client.enqueue('testapp.tasks.echo', { site: SITE });
    failed(await bench(fresh, ['purge-jobs'], { FRAPPE_SITE: SITE }), 1, /every site/);
    assert.equal(await queuedCount(benches.redis.client, fresh.bench.benchId, 'default'), 1);
  });
});

describe('execute', () => {
  it('runs a function in the site context and prints its JSON result; --site all runs it per site; a failure exits 1', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'execute', 'testapp.tasks.add', '--kwargs', '{"a":40,"b":2}'])), '42\n');
    const ctx = JSON.parse(ok(await bench(fresh, ['execute', 'testapp.tasks.context'], { FRAPPE_SITE: SHORT_SITE }))) as { site: string; method: string };
    assert.deepEqual([ctx.site, ctx.method], [SHORT_SITE, 'testapp.tasks.context']);
    assert.equal(ok(await bench(fresh, ['--site', 'all', 'execute', 'testapp.tasks.add', '--kwargs', '{"a":1,"b":1}'])), 'Site a.com\n2\nSite a.com.au\n2\nSite site1.test\n2\n');
    assert.deepEqual(JSON.parse(ok(await bench(fresh, ['--site', SITE, 'execute', 'testapp.tasks.add', '--kwargs', '{"a":1,"b":2}', '--json']))), { site: SITE, result: 3 });
    failed(await bench(fresh, ['--site', SITE, 'execute', 'testapp.tasks.fail', '--kwargs', '{"message":"boom"}']), 1, /ERR_JOB_FAILED\]: testapp\.tasks\.fail failed on site site1\.test: Error: boom\n\s+at fail/);
    failed(await bench(fresh, ['--site', SITE, 'execute', 'testapp.tasks.nothing']), 1, /ERR_JOB_LOAD/);
    failed(await bench(fresh, ['--site', SITE, 'execute', 'testapp.tasks.add', '--kwargs', '[1]']), 1, /ERR_ENQUEUE_INVALID\]: --kwargs: kwargs must be a JSON object/);
    assert.equal(await queuedCount(benches.redis.client, fresh.bench.benchId, 'default'), 0, 'no job was written');
  });
});

describe('set-maintenance-mode', () => {
  it('writes maintenance_mode 1/0 in site_config.json; doctor reports it; the site still runs its queued jobs', { timeout: 40_000 }, async () => {
    const fresh = await benches.fresh();
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'set-maintenance-mode', 'on'])), 'Maintenance mode on for site1.test\n');
    assert.equal(siteConfig(fresh, SITE)['maintenance_mode'], 1);
    assert.equal(siteConfig(fresh, SHORT_SITE)['maintenance_mode'], undefined);
    assert.match(ok(await bench(fresh, ['doctor'])), /^-----Checking scheduler status-----\nMaintenance mode on for site1\.test\nWorkers online: 0\n/);
    const id = await fresh.client.enqueue('testapp.tasks.add', { site: SITE, kwargs: { a: 1, b: 1 } });
    ok(await bench(fresh, ['worker', '--burst']));
    assert.equal((await readJob(benches.redis.client, fresh.bench.benchId, 'default', id))?.status, 'finished', 'a site in maintenance still runs its queued jobs');
    ok(await bench(fresh, ['--site', 'all', 'set-maintenance-mode', 'off']));
    for (const site of [SITE, SHORT_SITE, LONG_SITE]) assert.equal(siteConfig(fresh, site)['maintenance_mode'], 0);
    failed(await bench(fresh, ['--site', SITE, 'set-maintenance-mode', 'maybe']), 2, /'maybe' is invalid for argument 'state'\. Allowed choices are on, off/);
  });
});

describe('doctor', () => {
  it("prints Frappe's shape: scheduler state per site, workers online, then per queue its jobs and methods; --site limits those to one site", { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    ok(await bench(fresh, ['--site', SHORT_SITE, 'scheduler', 'disable']));
    ok(await bench(fresh, ['--site', LONG_SITE, 'scheduler', 'pause']));
    await fresh.client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE, queue: 'long' });
    await fresh.client.enqueue('testapp.tasks.add', { site: SHORT_SITE, queue: 'long', kwargs: { a: 1, b: 1 } });
    const report = await bench(fresh, ['doctor']);
    failed(report, 1, /ERR_QUEUE_UNSERVED/);
    assert.match(
      report.stdout,
      /^-----Checking scheduler status-----\nScheduler disabled for a\.com\nScheduler paused for a\.com\.au\nWorkers online: 0\n-----Jobs-----\nQueue: long\nNumber of Jobs: 3\nMethods:\ntestapp\.tasks\.echo : 2\ntestapp\.tasks\.add : 1\n------------\n-----Queues-----\nQUEUE +WORKERS/,
    );
    assert.match(report.stdout, /\n-----Queues by site-----\nQUEUE +SITE +QUEUED +RUNNING\nlong +a\.com +1 +0\nlong +site1\.test +2 +0\n/, 'queued jobs per site of each queue');
    assert.match(report.stdout, /\n-----Scheduler-----\nHolder: none/);
    const mine = await bench(fresh, ['--site', SITE, 'doctor', '--json']);
    const json = JSON.parse(mine.stdout) as {
      site: string;
      sites: { site: string }[];
      pending: { queue: string; total: number; methods: Record<string, number> }[];
      unserved: string[];
      queues: { queue: string; bySite: Record<string, { queued: number; started: number }> }[];
    };
    assert.deepEqual(
      json.queues.map((q) => [q.queue, q.bySite]),
      [['short', {}], ['default', {}], ['long', { [SHORT_SITE]: { queued: 1, started: 0 }, [SITE]: { queued: 2, started: 0 } }]],
      'the queue table, per site included, stays bench-wide',
    );
    assert.equal(json.site, SITE);
    assert.deepEqual(json.sites.map((s) => s.site), [SITE]);
    assert.deepEqual(json.pending, [{ queue: 'long', total: 2, methods: { 'testapp.tasks.echo': 2 }, counted: 2 }]);
    assert.deepEqual(json.unserved, ['long'], 'the unserved check stays bench-wide');
    failed(await bench(fresh, ['--site', 'nope.test', 'doctor']), 1, /site "nope\.test" \(from --site\) not found/);
  });
});
