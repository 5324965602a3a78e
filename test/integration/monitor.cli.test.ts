// The monitoring commands, run as the real `bench` binary: doctor, show-pending-jobs, purge-jobs,
// ready-for-migration and `jobs list|show|retry|delete|cancel|requeue-failed`, with --json, their
// exit codes and their failures (unknown id, wrong state, no worker for a queue); listings cut at
// --limit, and output into a pipe its reader closed (`| head -1`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CliResult, failed, ok, runBench, shown, spawnBench } from '../helpers/cli.ts';
import { readJob, startSupervisor } from '../helpers/jobs.ts';
import { useMonitorBenches, failJobs, LONG_SITE, makeScheduled, runningJob, setEvent, SHORT_SITE, SITE, type Fresh } from '../helpers/monitor.ts';
import { queuedCount, queuedIds, clearQueued } from '../helpers/queued.ts';
import { waitFor } from '../helpers/wait-for.ts';

const benches = useMonitorBenches();

const bench = (fresh: Fresh, args: readonly string[]) => runBench(args, { cwd: fresh.bench.path });
const local = (id: string) => id.split('||')[1] as string;

describe('bench doctor', () => {
  it('exits 1 naming the queue when jobs wait and no live worker serves it, 0 once one does', { timeout: 40_000 }, async () => {
    const fresh = await benches.fresh();
    assert.match(ok(await bench(fresh, ['doctor'])), /^-----Checking scheduler status-----\nWorkers online: 0\n-----Jobs-----\n-----Queues-----\nQUEUE +WORKERS +QUEUED +SCHEDULED +RUNNING +FAILED\nshort +0 +0 +0 +0 +0\n/);

    await fresh.client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE, queue: 'long' });
    const down = await bench(fresh, ['doctor']);
    failed(down, 1, /Error \[ERR_QUEUE_UNSERVED\]: jobs wait in queue "long" \(2 queued\) but no live worker listens to it/);
    assert.match(down.stdout, /Workers online: 0/);
    assert.match(down.stdout, /\nlong +0 +2 +0 +0 +0\n?/);
    const json = await bench(fresh, ['doctor', '--json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { workersOnline: number; unserved: string[]; queues: { queue: string; queued: number }[] };
    assert.deepEqual(report.unserved, ['long']);
    const { error } = JSON.parse(json.stderr) as { error: { code: string; message: string; queues: string[] } };
    assert.deepEqual([error.code, error.queues], ['ERR_QUEUE_UNSERVED', ['long']]);
    assert.match(error.message, /no live worker listens to it/);

    const w = startSupervisor(fresh.bench, { numWorkers: 2, queues: ['default', 'short'] });
    try {
      await waitFor(async () => (await fresh.client.getWorkers()).length === 2, { what: 'two workers registered' });
      failed(await bench(fresh, ['doctor']), 1, /queue "long"/);
      await clearQueued(benches.redis.client, fresh.bench.benchId, 'long');
      const up = ok(await bench(fresh, ['doctor', '--json']));
      const healthy = JSON.parse(up) as { workersOnline: number; workers: { queues: string[] }[]; queues: { queue: string; workers: number }[]; unserved: string[] };
      assert.equal(healthy.workersOnline, 2);
      assert.deepEqual(healthy.workers.map((x) => x.queues), [['default', 'short'], ['default', 'short']]);
      assert.deepEqual(healthy.queues.map((q) => [q.queue, q.workers]), [['short', 2], ['default', 2], ['long', 0]]);
      assert.deepEqual(healthy.unserved, []);
    } finally {
      await w.stop();
    }
  });
});

describe('queued and running jobs per site (doctor, bench jobs)', () => {
  interface SiteLoadJson {
    queue: string;
    queued: number;
    started: number;
    bySite: Record<string, { queued: number; started: number }>;
  }
  const bySite = (queues: readonly SiteLoadJson[]) => Object.fromEntries(queues.map((q) => [q.queue, q.bySite]));

  it('doctor and bench jobs show each queue\'s queued and running jobs per site, in text and --json', { timeout: 40_000 }, async () => {
    const fresh = await benches.fresh();
    await fresh.client.enqueueMany('testapp.tasks.echo', [{}, {}], { site: SITE });
    await fresh.client.enqueue('testapp.tasks.echo', { site: SHORT_SITE });
    const running = await runningJob(fresh, LONG_SITE, 'long');
    try {
      const expected = {
        short: {},
        default: { [SHORT_SITE]: { queued: 1, started: 0 }, [SITE]: { queued: 2, started: 0 } },
        long: { [LONG_SITE]: { queued: 0, started: 1 } },
      };

      // doctor exits 1 (no worker serves default) but prints its report all the same.
      const text = await bench(fresh, ['doctor']);
      assert.equal(text.code, 1, shown(text));
      assert.match(text.stdout, /\n-----Queues by site-----\nQUEUE +SITE +QUEUED +RUNNING\ndefault +a\.com +1 +0\ndefault +site1\.test +2 +0\nlong +a\.com\.au +0 +1\n/);
      const report = JSON.parse((await bench(fresh, ['doctor', '--json'])).stdout) as { queues: (SiteLoadJson & { workers: number })[] };
      assert.deepEqual(bySite(report.queues), expected);
      assert.deepEqual(report.queues.map((q) => [q.queue, q.queued, q.started]), [['short', 0, 0], ['default', 3, 0], ['long', 0, 1]], 'the totals are kept');

      const counts = ok(await bench(fresh, ['jobs']));
      assert.equal(counts, ok(await bench(fresh, ['jobs', 'counts'])), 'a bare `bench jobs` prints the counts');
      assert.match(counts, /^QUEUE +QUEUED +RUNNING\nshort +0 +0\ndefault +3 +0\nlong +0 +1\n-----By site-----\nQUEUE +SITE +QUEUED +RUNNING\ndefault +a\.com +1 +0\ndefault +site1\.test +2 +0\nlong +a\.com\.au +0 +1\n$/);
      const json = JSON.parse(ok(await bench(fresh, ['jobs', 'counts', '--json']))) as { site: string | null; queues: SiteLoadJson[] };
      assert.equal(json.site, null);
      assert.deepEqual(bySite(json.queues), expected);
      const mine = JSON.parse(ok(await bench(fresh, ['--site', SITE, 'jobs', 'counts', '--queue', 'default', '--json']))) as { site: string; queues: SiteLoadJson[] };
      assert.deepEqual(mine, { site: SITE, queues: [{ queue: 'default', queued: 3, started: 0, bySite: { [SITE]: { queued: 2, started: 0 } } }] });
      assert.match(ok(await bench(fresh, ['--site', SHORT_SITE, 'jobs'])), /\n-----a\.com-----\nQUEUE +SITE +QUEUED +RUNNING\ndefault +a\.com +1 +0\n$/, 'a.com is not a.com.au');
      failed(await bench(fresh, ['jobs', 'counts', '--queue', 'nope']), 1, /ERR_QUEUE_UNKNOWN/);
    } finally {
      await fresh.client.stopJob(LONG_SITE, running.id);
      await running.supervisor.stop();
    }
    assert.match(ok(await bench(fresh, ['jobs', 'counts', '--queue', 'long'])), /-----By site-----\nno queued or running jobs\n$/);
  });
});

describe('site commands', () => {
  it('show-pending-jobs lists the queued jobs of the site per queue, and only its own', async () => {
    const fresh = await benches.fresh();
    const a = await fresh.client.enqueue('testapp.tasks.echo', { site: SHORT_SITE, queue: 'short' });
    const b = await fresh.client.enqueue('testapp.tasks.add', { site: SHORT_SITE, kwargs: { a: 1, b: 2 } });
    await fresh.client.enqueue('testapp.tasks.echo', { site: LONG_SITE });
    const plain = ok(await bench(fresh, ['--site', SHORT_SITE, 'show-pending-jobs']));
    assert.equal(plain, '-----Pending Jobs-----\n-----Queue :short-----\ntestapp.tasks.echo\n-----Queue :default-----\ntestapp.tasks.add {"a":1,"b":2}\n', 'only its own jobs, no header for an empty queue');
    const json = JSON.parse(ok(await bench(fresh, ['--site', SHORT_SITE, 'show-pending-jobs', '--json']))) as { site: string; queues: Record<string, { id: string; method: string; createdAt: number }[]> };
    assert.equal(json.site, SHORT_SITE);
    assert.deepEqual(Object.fromEntries(Object.entries(json.queues).map(([q, jobs]) => [q, jobs.map((j) => j.id)])), { short: [a], default: [b], long: [] });
    assert.ok((json.queues['default']?.[0]?.createdAt ?? 0) > 0);
    failed(await bench(fresh, ['show-pending-jobs']), 2, /ERR_USAGE.*needs a site/);
    failed(await bench(fresh, ['--site', 'nowhere.test', 'show-pending-jobs']), 1, /ERR_SITE_NOT_FOUND/);
  });

  it('purge-jobs deletes the queued jobs of the site, of one queue or one event, and prints how many', async () => {
    const fresh = await benches.fresh();
    const { benchId } = fresh.bench;
    const ids = await fresh.client.enqueueMany('testapp.tasks.echo', [{}, {}, {}], { site: SITE });
    await fresh.client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' });
    const kept = await fresh.client.enqueue('testapp.tasks.echo', { site: SHORT_SITE });
    await setEvent(benches.redis, benchId, 'default', ids[0] as string, 'hourly');
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'purge-jobs', '--event', 'hourly'])), 'purged 1 queued job of site1.test\n');
    assert.equal(JSON.parse(ok(await bench(fresh, ['--site', SITE, 'purge-jobs', '--queue', 'long', '--json']))).count, 1);
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'purge-jobs'])), 'purged 2 queued jobs of site1.test\n');
    assert.deepEqual(await queuedIds(benches.redis.client, benchId, 'default'), [kept]);
    failed(await bench(fresh, ['--site', SITE, 'purge-jobs', '--queue', 'nope']), 1, /ERR_QUEUE_UNKNOWN/);
  });

  it('ready-for-migration exits 1 while the site has queued, scheduled or running jobs, else 0', { timeout: 40_000 }, async () => {
    const fresh = await benches.fresh();
    const ready = (site: string) => bench(fresh, ['--site', site, 'ready-for-migration']);
    assert.equal(ok(await ready(SITE)), 'READY for migration: site site1.test does not have any background jobs\n');
    const id = await fresh.client.enqueue('testapp.tasks.echo', { site: SITE });
    const notReady = await ready(SITE);
    assert.deepEqual([notReady.code, notReady.stderr], [1, ''], 'the verdict is on stdout, as Frappe prints it');
    assert.equal(notReady.stdout, 'NOT READY for migration: site site1.test has pending background jobs (1 queued, 0 scheduled, 0 running)\n');
    ok(await ready(SHORT_SITE));
    await makeScheduled(benches.redis, fresh.bench.benchId, 'default', id, Date.now() + 60_000);
    const scheduled = await ready(SITE);
    assert.equal(scheduled.code, 1);
    assert.match(scheduled.stdout, /\(0 queued, 1 scheduled, 0 running\)/);
    await fresh.client.deleteJob(SITE, id);
    const running = await runningJob(fresh, SITE, 'long');
    try {
      const json = await bench(fresh, ['--site', SITE, 'ready-for-migration', '--json']);
      assert.equal(json.code, 1);
      assert.deepEqual(JSON.parse(json.stdout), { site: SITE, ready: false, queued: 0, scheduled: 0, started: 1 });
    } finally {
      await fresh.client.stopJob(SITE, running.id);
      await running.supervisor.stop();
    }
    assert.deepEqual(JSON.parse(ok(await bench(fresh, ['--site', SITE, 'ready-for-migration', '--json']))), { site: SITE, ready: true, queued: 0, scheduled: 0, started: 0 });
  });
});

/**
 * Run `bench ...` into a pipe whose reader keeps the first line and goes away (`| head -1`): the exit
 * code, stderr and that line.
 */
function firstLineThenClose(fresh: Fresh, args: readonly string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; first: string }> {
  const child = spawnBench(args, { cwd: fresh.bench.path });
  let stderr = '';
  let first = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.once('data', (d: Buffer) => {
    first = d.toString().split('\n')[0] ?? '';
    child.stdout?.destroy();
  });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr, first })));
}

describe('listings', () => {
  it('show-pending-jobs and jobs list print the first --limit jobs and say how many more there are', async () => {
    const fresh = await benches.fresh();
    await fresh.client.enqueueMany('testapp.tasks.echo', [{}, {}, {}, {}, {}], { site: SITE });
    const pending = ok(await bench(fresh, ['--site', SITE, 'show-pending-jobs', '--limit', '2']));
    assert.equal(pending, '-----Pending Jobs-----\n-----Queue :default-----\ntestapp.tasks.echo\ntestapp.tasks.echo\n… and 3 more; use --limit\n');
    const json = JSON.parse(ok(await bench(fresh, ['--site', SITE, 'show-pending-jobs', '--limit', '2', '--json']))) as { limit: number; queues: Record<string, unknown[]>; totals: Record<string, number> };
    assert.equal(json.limit, 2);
    assert.equal(json.queues['default']?.length, 2);
    assert.deepEqual(json.totals, { short: 0, default: 5, long: 0 });
    assert.doesNotMatch(ok(await bench(fresh, ['--site', SITE, 'show-pending-jobs'])), /more; use/, 'under the default limit nothing is cut');

    const list = ok(await bench(fresh, ['jobs', 'list', '--limit', '2']));
    assert.match(list, /\n1-2 of 5 queued jobs\n… and 3 more; use --limit or --offset\n$/);
    assert.match(ok(await bench(fresh, ['jobs', 'list', '--limit', '2', '--offset', '3'])), /\n4-5 of 5 queued jobs\n$/);
    failed(await bench(fresh, ['--site', SITE, 'show-pending-jobs', '--limit', '0']), 2, /--limit must be a whole number from 1 to 10000/);
  });

  it('end quietly with exit 0 when the reader of their output goes away (| head -1)', { timeout: 60_000 }, async () => {
    const fresh = await benches.fresh({ max_queued_jobs: 10_000 });
    // About 500 kB of output: far more than a pipe holds, so the command is still writing when the reader leaves.
    await fresh.client.enqueueMany('testapp.tasks.echo', Array.from({ length: 4000 }, () => ({})), { site: SITE });
    for (const args of [
      ['--site', SITE, 'show-pending-jobs', '--limit', '4000'],
      ['jobs', 'list', '--limit', '4000'],
      ['jobs', 'list', '--limit', '4000', '--json'],
    ]) {
      const run = await firstLineThenClose(fresh, args);
      assert.deepEqual({ code: run.code, signal: run.signal, stderr: run.stderr }, { code: 0, signal: null, stderr: '' }, `bench ${args.join(' ')}`);
      assert.ok(run.first.length > 0, 'the reader got the first line');
    }
  });
});

describe('bench jobs', () => {
  it('list shows jobs by status with --site, --queue, paging and --json; refuses a bad status', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const mine = await failJobs(benches.redis, fresh, SITE, ['one', 'two']);
    await failJobs(benches.redis, fresh, SHORT_SITE, ['three']);
    const plain = ok(await bench(fresh, ['--site', SITE, 'jobs', 'list', '--status', 'failed']));
    assert.match(plain, /^ID +QUEUE +METHOD +ENDED +ERROR\nsite1\.test\|\|\S+ +default +testapp\.tasks\.fail +\d{4}-\S+ +Error: (one|two)\n/);
    assert.match(plain, /\n1-2 of 2 failed jobs of site1\.test\n$/);
    const page = JSON.parse(ok(await bench(fresh, ['jobs', 'list', '--status', 'failed', '--limit', '1', '--offset', '1', '--json']))) as { jobs: { id: string }[]; total: number };
    assert.equal(page.total, 3);
    assert.equal(page.jobs.length, 1);
    assert.equal(ok(await bench(fresh, ['jobs', 'list', '--site', SITE, '--queue', 'short', '--status', 'failed'])), 'no failed jobs of site1.test on short\n');
    assert.equal(ok(await bench(fresh, ['jobs', 'list'])), 'no queued jobs\n');
    assert.ok(mine.length === 2);
    failed(await bench(fresh, ['jobs', 'list', '--status', 'done']), 2, /--status must be one of queued, started, finished, failed, stopped, scheduled/);
    failed(await bench(fresh, ['jobs', 'list', '--limit', '0']), 2, /--limit/);
  });

  it('show prints the full record with the error and its stack; unknown ids exit 1', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const [id] = (await failJobs(benches.redis, fresh, SITE, ['it broke'])) as [string];
    const plain = ok(await bench(fresh, ['--site', SITE, 'jobs', 'show', local(id)]));
    for (const line of [`id: +${id.replace(/\|/g, '\\|')}`, 'status: +failed', 'method: +testapp\\.tasks\\.fail', 'attempts: +1', 'kwargs: +\\{"message":"it broke"\\}', 'error:\\n  Error: it broke\\n      at fail \\(.*tasks\\.ts']) {
      assert.match(plain, new RegExp(line), plain);
    }
    const json = JSON.parse(ok(await bench(fresh, ['jobs', 'show', id, '--json']))) as { id: string; error: { message: string; stack: string } };
    assert.equal(json.id, id);
    assert.match(json.error.stack, /it broke/);
    failed(await bench(fresh, ['--site', SITE, 'jobs', 'show', 'nope']), 1, /Error \[ERR_JOB_NOT_FOUND\]: job "site1\.test\|\|nope" not found/);
    failed(await bench(fresh, ['jobs', 'show', 'nope', '--json']), 1, /"code":"ERR_JOB_NOT_FOUND"/);
  });

  it('retry, delete and cancel act on one job, refusing the wrong state with exit 1', { timeout: 40_000 }, async () => {
    const fresh = await benches.fresh();
    const [bad] = (await failJobs(benches.redis, fresh, SITE, ['x'])) as [string];
    const queued = await fresh.client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'short' });

    failed(await bench(fresh, ['--site', SITE, 'jobs', 'retry', local(queued)]), 1, /Error \[ERR_JOB_STATE\]: job "\S+" is queued; only a failed or stopped job can be retried/);
    failed(await bench(fresh, ['--site', SITE, 'jobs', 'cancel', local(bad), '--json']), 1, /"code":"ERR_JOB_STATE".*is failed; only a queued or scheduled/);
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'jobs', 'retry', local(bad)])), `${bad} queued\n`);
    assert.deepEqual(JSON.parse(ok(await bench(fresh, ['--site', SITE, 'jobs', 'cancel', local(queued), '--json']))), { id: queued, queue: 'short', status: 'canceled' });
    failed(await bench(fresh, ['--site', SITE, 'jobs', 'cancel', local(queued)]), 1, /is canceled; only a queued or scheduled job can be canceled/);
    assert.equal(ok(await bench(fresh, ['jobs', 'delete', queued])), `${queued} deleted\n`);
    failed(await bench(fresh, ['jobs', 'delete', queued]), 1, /ERR_JOB_NOT_FOUND/);
    failed(await bench(fresh, ['jobs', 'retry', 'no-such']), 1, /ERR_JOB_NOT_FOUND.*give the site/);

    const running = await runningJob(fresh, SITE, 'long');
    try {
      failed(await bench(fresh, ['--site', SITE, 'jobs', 'delete', local(running.id)]), 1, /is running \(status: started\); stop it first/);
      assert.equal((await readJob(benches.redis.client, fresh.bench.benchId, 'long', running.id))?.status, 'started');
    } finally {
      await fresh.client.stopJob(SITE, running.id);
      await running.supervisor.stop();
    }
  });

  it('requeue-failed puts the failed jobs of --site and --queue back and prints how many', { timeout: 40_000 }, async () => {
    const fresh = await benches.fresh();
    await failJobs(benches.redis, fresh, SITE, ['a', 'b']);
    await failJobs(benches.redis, fresh, SITE, ['s'], 'short');
    await failJobs(benches.redis, fresh, SHORT_SITE, ['c']);
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'jobs', 'requeue-failed', '--queue', 'default'])), 'requeued 2 failed jobs\n');
    assert.deepEqual(JSON.parse(ok(await bench(fresh, ['jobs', 'requeue-failed', '--site', SITE, '--json']))), { site: SITE, queue: null, count: 1 });
    assert.equal(ok(await bench(fresh, ['jobs', 'requeue-failed'])), 'requeued 1 failed job\n');
    assert.equal(await queuedCount(benches.redis.client, fresh.bench.benchId, 'default'), 3);
  });
});
