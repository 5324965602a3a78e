// Memory stays flat however many jobs a worker runs: a 200,000-job drain with the supervisor and its
// job child each limited to a 96 MiB heap (--max-old-space-size=96 through NODE_OPTIONS). A worker
// that keeps a little of every job alive (the supervisor once did, ~3 KiB a job) dies of "JavaScript
// heap out of memory" long before the end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queueKeys } from '../../src/redis/keys.ts';
import { runBench } from '../helpers/cli.ts';
import { queuedCount } from '../helpers/queued.ts';
import { useBenchSuite } from '../helpers/suite.ts';

// max_queued_jobs raised: a bulk enqueue must fit whole under it.
const suite = useBenchSuite({ common: { max_queued_jobs: 1_000_000 } });
const JOBS = 200_000;

describe('memory', () => {
  it(`a ${JOBS.toLocaleString('en')}-job drain runs under a 96 MiB heap limit`, { timeout: 600_000 }, async () => {
    const { client, bench, redis } = suite;
    const payloads = Array.from({ length: JOBS }, () => ({}));
    await client.enqueueMany('testapp.tasks.echo', payloads, { site: 'site1.test', queue: 'default' });
    const keys = queueKeys(bench.benchId, 'default');
    assert.equal(await queuedCount(redis.client, bench.benchId, 'default'), JOBS);

    const result = await runBench(['worker', '--burst', '--queue', 'default', '--num-workers', '1', '--concurrency', '50', '--quiet'], {
      cwd: bench.path,
      timeoutMs: 540_000,
      env: { NODE_OPTIONS: '--max-old-space-size=96' },
    });
    assert.equal(result.code, 0, `worker exited ${String(result.code)} (${String(result.signal)}): ${result.stderr.slice(-2000)}${result.stdout.slice(-2000)}`);
    assert.doesNotMatch(result.stdout + result.stderr, /heap out of memory/);
    assert.equal(await queuedCount(redis.client, bench.benchId, 'default'), 0);
    assert.equal(await redis.client.zcard(keys.active), 0);
    assert.equal(await redis.client.zcard(keys.finished), JOBS);
  });
});
