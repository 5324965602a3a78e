// client.waitForJob: the result of a finished job, the error of a failed one, a retried failure waited
// through, a missing job, a timeout, and a client closed while waiting; driven by the job events.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { BenchClient, isBenchError } from '../../src/index.ts';
import { JobWaiter } from '../../src/queue/job-waiter.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/jobs.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import type { TestBench } from '../helpers/bench.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { benchKeys } from '../../src/redis/keys.ts';

const SITE = 'site1.test';
const benches = useRedisBenches();
let bench: TestBench;
let client: BenchClient;
let worker: RunningSupervisor | undefined;

function rejectsWith(code: string, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(isBenchError(err), String(err));
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

describe('waitForJob', () => {
  before(async () => {
    bench = benches.newBench();
    client = await BenchClient.open({ benchPath: bench.path });
  });

  after(async () => {
    await worker?.stop();
    await client.close();
  });

  it('a wait started before any worker resolves with the result once a worker runs the job', { timeout: 60_000 }, async () => {
    const id = await client.enqueue('testapp.tasks.add', { site: SITE, kwargs: { a: 2, b: 3 } });
    const waiting = client.waitForJob(SITE, id, { timeout: 45 });
    worker = startSupervisor(bench, { numWorkers: 1, concurrency: 4, queues: ['default'] });
    assert.equal(await waiting, 5);
    // Already finished: resolved from the record; the id without its site prefix works too.
    assert.equal(await client.waitForJob(SITE, id.slice(`${SITE}||`.length)), 5);
  });

  it("rejects with ERR_JOB_FAILED carrying the job's error", { timeout: 30_000 }, async () => {
    const id = await client.enqueue('testapp.tasks.fail', { site: SITE, kwargs: { message: 'boom' } });
    await assert.rejects(client.waitForJob(SITE, id, { timeout: 20 }), (err: unknown) => {
      rejectsWith('ERR_JOB_FAILED', /failed: boom/)(err);
      assert.equal((err as { details: { status: string } }).details.status, 'failed');
      return true;
    });
  });

  it('waits through a failed attempt that its retry policy runs again', { timeout: 30_000 }, async () => {
    const file = path.join(os.tmpdir(), `bw-wait-flaky-${process.pid}-${Date.now()}`);
    const id = await client.enqueue('testapp.tasks.flaky', { site: SITE, kwargs: { file, succeedOn: 2 }, retry: { max: 2, intervals: [0.2] } });
    assert.equal(await client.waitForJob(SITE, id, { timeout: 20 }), 2);
  });

  it('rejects at once with ERR_JOB_NOT_FOUND for a job that does not exist', async () => {
    await assert.rejects(client.waitForJob(SITE, 'no-such-job', { timeout: 5 }), rejectsWith('ERR_JOB_NOT_FOUND', /no-such-job/));
  });

  it('rejects with ERR_WAIT_TIMEOUT when the job has not ended in time', async () => {
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' }); // no worker serves long
    const started = Date.now();
    await assert.rejects(client.waitForJob(SITE, id, { timeout: 0.3 }), rejectsWith('ERR_WAIT_TIMEOUT', /within 0\.3 s \(status: queued\)/));
    assert.ok(Date.now() - started >= 290, 'waited its timeout');
    await assert.rejects(client.waitForJob(SITE, id, { timeout: -1 }), rejectsWith('ERR_USAGE'));
  });

  it('a 30-day timeout (past Node\'s 24.8-day timer limit) neither ends the wait nor makes it spin; over 365 days is refused', async () => {
    const id = await client.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' }); // no worker serves long
    let reads = 0;
    const waiter = new JobWaiter(
      () => createRedis(client.bench.settings, { role: 'blocking' }),
      (jobId) => {
        reads++;
        return client.getJob(SITE, jobId);
      },
      () => benchKeys(client.bench.settings.bench_id).events,
    );
    const outcome = assert.rejects(waiter.wait(id, { timeout: 30 * 24 * 3600 }), rejectsWith('ERR_CLIENT_CLOSED'));
    await waitFor(() => reads > 0, { what: 'the first read' });
    // A timer past the limit fires after 1 ms: the wait read the job again every millisecond.
    await delay(300);
    await waiter.close();
    await outcome;
    assert.ok(reads <= 2, `the job was read ${reads} times while nothing happened`);
    await assert.rejects(client.waitForJob(SITE, id, { timeout: 365 * 24 * 3600 + 1 }), rejectsWith('ERR_USAGE', /at most 31536000 \(365 days\)/));
  });

  it('a client closed while waiting rejects the wait with ERR_CLIENT_CLOSED', async () => {
    const other = await BenchClient.open({ benchPath: bench.path });
    const id = await other.enqueue('testapp.tasks.echo', { site: SITE, queue: 'long' });
    const listeners = async () => Number(((await benches.redis.client.pubsub('NUMSUB', benchKeys(bench.benchId).events)) as [string, number])[1]);
    const before = await listeners();
    const outcome = assert.rejects(other.waitForJob(SITE, id), rejectsWith('ERR_CLIENT_CLOSED'));
    // The wait blocks once its client listens on the bench's job events channel.
    await waitFor(async () => (await listeners()) > before, { what: 'the wait to subscribe' });
    await other.close();
    await outcome;
  });
});
