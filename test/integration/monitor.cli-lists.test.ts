// Job lists an operator can act on, through the real `bench` binary: `jobs list --status failed` shows
// each job's error on one line, `--status scheduled` when each job runs; `jobs show|retry|delete|cancel`
// take a unique prefix of a job id (an ambiguous one lists the candidates, a too short one is not a prefix).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorLine, untilText } from '../../src/cli/job-format.ts';
import { type CliResult, ok, runBench, shown } from '../helpers/cli.ts';
import { readJob } from '../helpers/jobs.ts';
import { useMonitorBenches, failJobs, makeScheduled, SHORT_SITE, SITE, type Fresh } from '../helpers/monitor.ts';

const benches = useMonitorBenches();

const bench = (fresh: Fresh, args: readonly string[]) => runBench(args, { cwd: fresh.bench.path });
const esc = (text: string) => text.replace(/[|.]/g, '\\$&');

describe('jobs list', () => {
  it('--status failed shows each error on one line, cut when long', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const long = `line one\nline two ${'x'.repeat(200)}`;
    const [short, cut] = (await failJobs(benches.redis, fresh, SITE, ['card declined', long])) as [string, string];
    const plain = ok(await bench(fresh, ['--site', SITE, 'jobs', 'list', '--status', 'failed']));
    const lines = plain.split('\n');
    assert.match(lines[0] as string, /^ID +QUEUE +METHOD +ENDED +ERROR$/);
    assert.match(plain, new RegExp(`\\n${esc(short)} +default +testapp\\.tasks\\.fail +\\d{4}-\\S+ +Error: card declined\\n`));
    const cutLine = lines.find((l) => l.startsWith(cut)) as string;
    assert.match(cutLine, /Error: line one line two x+\.\.\.$/);
    assert.equal(cutLine.slice(cutLine.indexOf('Error: ')).length, 100);
  });

  it('--status scheduled shows when each job runs, soonest first', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const later = await fresh.client.enqueue('testapp.tasks.echo', { site: SITE, inSeconds: 7200 });
    const soon = await fresh.client.enqueue('testapp.tasks.echo', { site: SITE, inSeconds: 90, queue: 'long' });
    const plain = ok(await bench(fresh, ['jobs', 'list', '--status', 'scheduled']));
    const runAt = (await readJob(benches.redis.client, fresh.bench.benchId, 'default', later))?.runAt as number;
    assert.match(plain, /^ID +QUEUE +METHOD +RUNS AT +IN +CREATED\n/);
    assert.match(plain, new RegExp(`\\n${esc(soon)} +long +testapp\\.tasks\\.echo +\\d{4}-\\S+Z +1m (2\\d|30)s +\\d{4}-`));
    assert.match(plain, new RegExp(`\\n${esc(later)} +default +testapp\\.tasks\\.echo +${esc(new Date(runAt).toISOString())} +(1h 59m|2h 0m) +`));
    assert.ok(plain.indexOf(soon) < plain.indexOf(later), 'soonest first');
  });

  it('formats errors and waits for one line', () => {
    assert.equal(errorLine({ name: 'BenchError', code: 'ERR_JOB_TIMEOUT', message: 'job exceeded\n its timeout' }), 'BenchError [ERR_JOB_TIMEOUT]: job exceeded its timeout');
    assert.equal(errorLine({ name: 'Error', message: 'y'.repeat(300) }).length, 100);
    assert.deepEqual([-5, 0, 1, 59_001, 61_000, 3_600_000 + 300_000, 90_000_000].map(untilText), ['due', 'due', '1s', '1m 0s', '1m 1s', '1h 5m', '1d 1h']);
  });
});

describe('a unique prefix of a job id', () => {
  it('is enough for jobs show, retry, delete and cancel', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const [failedId] = (await failJobs(benches.redis, fresh, SITE, ['boom'])) as [string];
    const local = failedId.split('||')[1] as string;
    // show: with --site and a prefix of the site's own id; without --site, a prefix of the full id, or of the id after "SITE||".
    assert.match(ok(await bench(fresh, ['--site', SITE, 'jobs', 'show', local.slice(0, 8)])), new RegExp(`^id: +${esc(failedId)}\\n`));
    assert.match(ok(await bench(fresh, ['jobs', 'show', `${SITE}||${local.slice(0, 6)}`])), new RegExp(`^id: +${esc(failedId)}\\n`));
    assert.equal((JSON.parse(ok(await bench(fresh, ['jobs', 'show', local.slice(0, 6), '--json']))) as { id: string }).id, failedId);
    // retry acts on the job the prefix names and prints its full id.
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'jobs', 'retry', local.slice(0, 8)])), `${failedId} queued\n`);
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'jobs', 'cancel', local.slice(0, 8)])), `${failedId} canceled\n`);

    const scheduled = await fresh.client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'nightly-report-7', inSeconds: 3600 });
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'jobs', 'cancel', 'nightly'])), `${scheduled} canceled\n`);
    const queued = await fresh.client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'weekly-export', queue: 'short' });
    assert.equal(ok(await bench(fresh, ['--site', SITE, 'jobs', 'delete', 'weekly-ex'])), `${queued} deleted\n`);
    assert.equal(await fresh.client.getJob(SITE, queued), undefined);
  });

  it('that is ambiguous is refused, listing the candidates; one too short or matching nothing is not found', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const a = await fresh.client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'sync-1' });
    const b = await fresh.client.enqueue('testapp.tasks.echo', { site: SITE, jobId: 'sync-2', queue: 'long' });
    await makeScheduled(benches.redis, fresh.bench.benchId, 'long', b, Date.now() + 60_000);
    const other = await fresh.client.enqueue('testapp.tasks.echo', { site: SHORT_SITE, jobId: 'sync-3' });

    const ambiguous = await bench(fresh, ['--site', SITE, 'jobs', 'delete', 'sync']);
    assert.equal(ambiguous.code, 1, shown(ambiguous));
    assert.match(ambiguous.stderr, /Error \[ERR_JOB_AMBIGUOUS\]: job id prefix "site1\.test\|\|sync" matches 2 jobs: /);
    for (const [id, queue] of [[a, 'default'], [b, 'long']]) assert.ok(ambiguous.stderr.includes(`${id} (${queue})`), ambiguous.stderr);
    assert.ok(!ambiguous.stderr.includes(other), 'another site\'s job is no candidate under --site');
    assert.ok(await fresh.client.getJob(SITE, a), 'nothing was deleted');
    const json = await bench(fresh, ['jobs', 'show', 'sync', '--json']);
    assert.equal(json.code, 1);
    const { error } = JSON.parse(json.stderr) as { error: { code: string; candidates: { id: string }[] } };
    assert.equal(error.code, 'ERR_JOB_AMBIGUOUS');
    assert.deepEqual(error.candidates.map((c) => c.id).sort(), [a, b, other].sort(), 'without --site: every site\'s');
    // --queue narrows it down to one.
    assert.match(ok(await bench(fresh, ['--site', SITE, 'jobs', 'show', 'sync', '--queue', 'long'])), new RegExp(`^id: +${esc(b)}\\n`));

    const short = await bench(fresh, ['--site', SITE, 'jobs', 'show', 'syn']);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /Error \[ERR_JOB_NOT_FOUND\]: job "site1\.test\|\|syn" not found\n/);
    const none = await bench(fresh, ['--site', SITE, 'jobs', 'show', 'nosuch']);
    assert.match(none.stderr, /Error \[ERR_JOB_NOT_FOUND\]: job "site1\.test\|\|nosuch" not found, and no job id starts with it\n/);
  });
});
