// `bench worker --burst`, the real command: it exits only once nothing is left to do, not while jobs
// are still queued or running. Checked at the moment it exits, without waiting for anything: jobs that
// take a moment on several worker processes, a job that enqueues another while the queue is empty, and
// a queue whose head is a long run of holes (places of purged jobs), in a site's lane and in the legacy
// wait list.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { queueKeys, WAIT_HOLE } from '../../src/redis/keys.ts';
import { runBench } from '../helpers/cli.ts';
import { readJob } from '../helpers/jobs.ts';
import { queuedCount } from '../helpers/queued.ts';
import { tempFile } from '../helpers/monitor.ts';
import { useBenchSuite } from '../helpers/suite.ts';

const SITE = 'site1.test';
const suite = useBenchSuite();

/** Run `bench worker --burst ...` to its end; resolves once the process has exited with 0. */
async function burst(args: readonly string[]): Promise<void> {
  const run = await runBench(['worker', '--burst', '--quiet', ...args], { cwd: suite.bench.path, timeoutMs: 60_000 });
  assert.equal(run.code, 0, `bench worker --burst failed\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
}

/** The status of each job (undefined: no record), read at once. */
async function statuses(queue: string, ids: readonly string[]): Promise<(string | undefined)[]> {
  return Promise.all(ids.map(async (id) => (await readJob(suite.redis.client, suite.bench.benchId, queue, id))?.status));
}

async function assertNothingLeft(queues: readonly string[]): Promise<void> {
  for (const queue of queues) {
    const k = queueKeys(suite.bench.benchId, queue);
    assert.equal(await queuedCount(suite.redis.client, suite.bench.benchId, queue), 0, `${queue}: jobs still queued when the burst exited`);
    assert.equal(await suite.redis.client.zcard(k.active), 0, `${queue}: jobs still running when the burst exited`);
  }
}

describe('bench worker --burst', () => {
  it('exits only after every queued and running job finished, including one a running job enqueued', { timeout: 90_000 }, async () => {
    const file = tempFile('burst-chain');
    const slow = await suite.client.enqueueMany('testapp.tasks.sleep', Array.from({ length: 6 }, () => ({ ms: 400 })), { site: SITE });
    const short = await suite.client.enqueueMany('testapp.tasks.sleep', [{ ms: 300 }, { ms: 300 }], { site: SITE, queue: 'short' });
    // Last in line: by the time it runs the queues are empty, and it enqueues one more job.
    const chain = await suite.client.enqueue('testapp.tasks.chain', { site: SITE, kwargs: { file } });

    await burst(['--queue', 'short,default', '--num-workers', '2', '--concurrency', '2']);

    assert.deepEqual(await statuses('default', [...slow, chain]), Array.from({ length: 7 }, () => 'finished'));
    assert.deepEqual(await statuses('short', short), ['finished', 'finished']);
    const chained = (await readJob(suite.redis.client, suite.bench.benchId, 'default', chain))?.result as string;
    assert.equal((await readJob(suite.redis.client, suite.bench.benchId, 'default', chained))?.status, 'finished', 'the job enqueued by a running job ran too');
    assert.equal(readFileSync(file, 'utf8'), 'chained\n');
    await assertNothingLeft(['short', 'default']);
  });

  it('does not take a run of holes at the head of a queue for an empty queue', { timeout: 90_000 }, async () => {
    const ids = await suite.client.enqueueMany('testapp.tasks.sleep', Array.from({ length: 3 }, () => ({ ms: 50 })), { site: SITE, queue: 'long' });
    const k = queueKeys(suite.bench.benchId, 'long');
    // More holes than one claim drops before it gives up filling its batch, at the head of the site's lane
    // (where a purge leaves them) and in the legacy wait list (served first) of an upgraded bench.
    const holes = Array.from({ length: 2500 }, () => WAIT_HOLE);
    await suite.redis.client.lpush(k.lane(SITE), ...holes);
    await suite.redis.client.lpush(k.wait, ...holes);

    await burst(['--queue', 'long']);

    assert.deepEqual(await statuses('long', ids), ['finished', 'finished', 'finished']);
    await assertNothingLeft(['long']);
  });
});
