// A site's commands act only on that site's jobs: a full id of another site (`bench --site a jobs
// retry 'b||x'`, client.getJob/stopJob/waitForJob('a', 'b||x')) is read as an id of site a (a||b||x),
// so it finds nothing and leaves the other site's job as it was; a site whose name is a prefix of
// another's (a.com, a.com.au) gets no way in either. With the job's own site, or no site, it works.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BenchError } from '../../src/errors.ts';
import { type CliResult, runBench, shown } from '../helpers/cli.ts';
import { readJob } from '../helpers/jobs.ts';
import { failJobs, LONG_SITE, runningJob, SHORT_SITE, SITE, useMonitorBenches, type Fresh } from '../helpers/monitor.ts';

const benches = useMonitorBenches();
const bench = (fresh: Fresh, args: readonly string[]) => runBench(args, { cwd: fresh.bench.path });

function notFound(r: CliResult, as: string): void {
  assert.equal(r.code, 1, shown(r));
  assert.match(r.stderr, /Error \[ERR_JOB_NOT_FOUND\]/, shown(r));
  assert.ok(r.stderr.includes(`"${as}"`), `the id is read as ${as}\n${shown(r)}`);
}

function benchError(code: string): (err: unknown) => boolean {
  return (err) => err instanceof BenchError && err.code === code;
}

describe("another site's job, by its full id", () => {
  it('bench --site refuses to retry, delete, cancel or show it; the job is left as it was', { timeout: 40_000 }, async () => {
    const fresh = await benches.fresh();
    const [other] = (await failJobs(benches.redis, fresh, SHORT_SITE, ['x'])) as [string];
    const queued = await fresh.client.enqueue('testapp.tasks.echo', { site: SHORT_SITE });
    for (const site of [SITE, LONG_SITE]) {
      for (const action of ['retry', 'delete', 'show']) notFound(await bench(fresh, ['--site', site, 'jobs', action, other]), `${site}||${other}`);
      notFound(await bench(fresh, ['--site', site, 'jobs', 'cancel', queued]), `${site}||${queued}`);
    }
    assert.equal((await readJob(benches.redis.client, fresh.bench.benchId, 'default', other))?.status, 'failed');
    assert.equal((await readJob(benches.redis.client, fresh.bench.benchId, 'default', queued))?.status, 'queued');

    // The same commands with the job's own site (or none) do act on it: the refusals above were about the site.
    assert.equal((await bench(fresh, ['--site', SHORT_SITE, 'jobs', 'retry', other])).stdout, `${other} queued\n`);
    assert.equal((await bench(fresh, ['jobs', 'cancel', queued])).stdout, `${queued} canceled\n`);
  });

  it("a site's own job whose id holds another site's name is the one acted on", { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const [other] = (await failJobs(benches.redis, fresh, SHORT_SITE, ['x'])) as [string];
    const own = await fresh.client.enqueue('testapp.tasks.echo', { site: SITE, jobId: other });
    assert.equal(own, `${SITE}||${other}`);
    assert.equal((await bench(fresh, ['--site', SITE, 'jobs', 'delete', other])).stdout, `${own} deleted\n`);
    assert.equal(await readJob(benches.redis.client, fresh.bench.benchId, 'default', own), undefined);
    assert.equal((await readJob(benches.redis.client, fresh.bench.benchId, 'default', other))?.status, 'failed');
  });

  it('client.getJob, waitForJob and stopJob with another site find nothing and stop nothing', { timeout: 40_000 }, async () => {
    const fresh = await benches.fresh();
    const [failed] = (await failJobs(benches.redis, fresh, SHORT_SITE, ['x'])) as [string];
    assert.equal((await fresh.client.getJob(SHORT_SITE, failed))?.status, 'failed');
    assert.equal(await fresh.client.getJob(SITE, failed), undefined);
    assert.equal(await fresh.client.getJob(LONG_SITE, failed), undefined);
    assert.equal(await fresh.client.getJobStatus(SITE, failed), undefined);
    await assert.rejects(fresh.client.waitForJob(SITE, failed, { timeout: 5 }), benchError('ERR_JOB_NOT_FOUND'));

    const running = await runningJob(fresh, SHORT_SITE, 'long');
    try {
      await assert.rejects(fresh.client.stopJob(SITE, running.id, 2_000), benchError('ERR_JOB_NOT_FOUND'));
      await assert.rejects(fresh.client.stopJob(LONG_SITE, running.id, 2_000), benchError('ERR_JOB_NOT_FOUND'));
      assert.equal((await readJob(benches.redis.client, fresh.bench.benchId, 'long', running.id))?.status, 'started');
      assert.equal((await fresh.client.stopJob(SHORT_SITE, running.id)).status, 'stopped');
    } finally {
      await running.supervisor.stop();
    }
  });
});
