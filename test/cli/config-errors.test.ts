// A bad config file stops `bench enqueue` before anything is written, with a message naming the file
// (and the key, when one key is wrong).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { TestBench } from '../helpers/bench.ts';
import { runBench } from '../helpers/cli.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { SITE, assertFailure, assertNothingWritten, assertSuccess } from './support.ts';

const env = useRedisBenches();

const commonFile = (bench: TestBench) => path.join(bench.path, 'sites', 'common_site_config.json');
const siteFile = (bench: TestBench) => path.join(bench.path, 'sites', SITE, 'site_config.json');

async function enqueueRefused(bench: TestBench, stderr: readonly string[]): Promise<void> {
  const result = await assertNothingWritten(env.redis, () =>
    runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo'], { cwd: bench.path }),
  );
  assertFailure(result, { exitCode: 1, stderr: ['ERR_CONFIG_INVALID', ...stderr] });
}

describe('config errors', () => {
  test('control: the unmodified bench enqueues', async () => {
    const bench = env.newBench();
    assertSuccess(await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo'], { cwd: bench.path }));
  });

  test('malformed common_site_config.json names the file', async () => {
    const bench = env.newBench();
    writeFileSync(commonFile(bench), `{"redis_queue": "${env.redis.url}", "bench_id": "${bench.benchId}",`);
    await enqueueRefused(bench, [commonFile(bench), 'malformed JSON']);
  });

  test('common_site_config.json that is a list, not an object', async () => {
    const bench = env.newBench();
    writeFileSync(commonFile(bench), '[]');
    await enqueueRefused(bench, [commonFile(bench), 'JSON object']);
  });

  test('malformed site_config.json names the file', async () => {
    const bench = env.newBench();
    writeFileSync(siteFile(bench), '{"installed_apps": [');
    await enqueueRefused(bench, [siteFile(bench), 'malformed JSON']);
  });

  test('"rq_results_ttl": "ten" names the file and the key', async () => {
    const bench = env.newBench({ common: { rq_results_ttl: 'ten' } });
    await enqueueRefused(bench, [commonFile(bench), '"rq_results_ttl"', '"ten"', 'whole number']);
  });

  for (const [key, value, named] of [
    ['max_job_payload_bytes', 0, '"max_job_payload_bytes"'],
    ['redis_queue', 'http://localhost:6379', '"redis_queue"'],
    ['bench_id', '', '"bench_id"'],
    ['workers', { 'bad name': {} }, '"workers.bad name"'],
    ['workers', { reports: { timeout: -1 } }, '"workers.reports.timeout"'],
    ['use_rq_auth', 'yes', '"use_rq_auth"'],
  ] as const) {
    test(`common ${key}: ${JSON.stringify(value)} names the file and ${named}`, async () => {
      const bench = env.newBench({ common: { [key]: value } });
      await enqueueRefused(bench, [commonFile(bench), named]);
    });
  }

  test('wrong type in site_config.json names that file and the key', async () => {
    const bench = env.newBench({ sites: { [SITE]: { rq_job_failure_ttl: 1.5 } } });
    await enqueueRefused(bench, [siteFile(bench), '"rq_job_failure_ttl"']);
  });

  test('installed_apps that is not a list of names', async () => {
    const bench = env.newBench({ sites: { [SITE]: { installed_apps: 'testapp' } } });
    await enqueueRefused(bench, [siteFile(bench), '"installed_apps"']);
  });

  test('installed_apps in common_site_config.json belongs in the site file', async () => {
    const bench = env.newBench({ common: { installed_apps: ['testapp'] } });
    await enqueueRefused(bench, [commonFile(bench), '"installed_apps"', 'site_config.json']);
  });

  // The queue database is the test Redis's: with the URL unchecked, "/abc" wrote the job to db 0 and then
  // crashed on SELECT NaN (a retry duplicated the job), and "/99" silently used db 0.
  for (const tail of ['/abc', '/99', '/16', '/0?ssl_cert_reqs=none']) {
    test(`redis_queue ending in ${tail} is refused naming the key and the file; nothing is written`, async () => {
      const bench = env.newBench({ common: { redis_queue: `${env.redis.url}${tail}` } });
      await enqueueRefused(bench, [commonFile(bench), '"redis_queue"']);
    });
  }

  test('a redis_queue with a password: the refusal does not show it', async () => {
    const bench = env.newBench({ common: { redis_queue: env.redis.url.replace('redis://', 'redis://user:s3cret@') + '/abc' } });
    const result = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo'], { cwd: bench.path });
    assertFailure(result, { exitCode: 1, stderr: ['ERR_CONFIG_INVALID', '"redis_queue"'] });
    assert.ok(!result.stderr.includes('s3cret'), result.stderr);
  });

  test('every problem of a file is reported at once, a nested one by its path', async () => {
    const bench = env.newBench({ common: { rq_results_ttl: 'ten', workers: { email: { timeout: '60' } }, job_timeout_grace: -1 } });
    await enqueueRefused(bench, [commonFile(bench), '3 problems', '"workers.email.timeout"', 'found "60" (string)', '"rq_results_ttl"', '"job_timeout_grace"']);
  });

  test('a near miss of a known key is warned about on stderr; the enqueue goes ahead', async () => {
    const bench = env.newBench({ common: { backgroud_workers: 2, email_queue_batch_size: 5 } });
    const result = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^site1\.test\|\|/);
    assert.match(result.stderr, /ConfigWarning: .*common_site_config\.json: key "backgroud_workers" .*did you mean "background_workers"\?/);
    assert.ok(!result.stderr.includes('email_queue_batch_size'), result.stderr);
  });

  test('a bad bench_id (braces) is refused before any key is built', async () => {
    const bench = env.newBench({ common: { bench_id: 'a{b}' } });
    await enqueueRefused(bench, ['bench_id', 'a{b}']);
  });
});
