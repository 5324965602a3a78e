// A worker process killed at each step of the batch protocol (failpoints, src/worker/failpoint.ts):
// between a claim and the start of its jobs, with a batch of ended jobs in flight, and with prefetched
// jobs not started. Every job ends exactly once in its final state: finished, none lost, none left in
// flight or waiting, and a job runs twice only when the process died after running it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { queueKeys } from '../../src/redis/keys.ts';
import { runBench } from '../helpers/cli.ts';
import { readJob } from '../helpers/jobs.ts';
import { queuedCount } from '../helpers/queued.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { BenchClient } from '../../src/client.ts';

const benches = useRedisBenches();
const SITE = 'site1.test';
const JOBS = 300;

function tempFile(name: string): string {
  return path.join(os.tmpdir(), `bw-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
}

for (const point of ['after-claim', 'ending-in-flight', 'prefetched'] as const) {
  describe(`a worker process killed at "${point}"`, () => {
    it('leaves every job to end exactly once, finished', { timeout: 120_000 }, async () => {
      const bench = benches.newBench();
      const runs = tempFile(`kill-${point}`);
      const died = tempFile(`kill-${point}-died`);
      const client = await BenchClient.open({ benchPath: bench.path });
      let ids: string[];
      try {
        ids = await client.enqueueMany('testapp.tasks.record', Array.from({ length: JOBS }, (_, i) => ({ file: runs, value: String(i) })), { site: SITE });
      } finally {
        await client.close();
      }
      const result = await runBench(['worker', '--burst', '--queue', 'default', '--num-workers', '1', '--concurrency', '4', '--quiet'], {
        cwd: bench.path,
        timeoutMs: 100_000,
        env: { BENCH_FAILPOINT: point, BENCH_FAILPOINT_ONCE: died },
      });
      try {
        assert.equal(result.code, 0, result.stderr + result.stdout);
        assert.ok(existsSync(died), `a worker process died at ${point}`);
        assert.match(result.stdout, /worker process ended; settling its jobs/);
        const k = queueKeys(bench.benchId, 'default');
        const redis = benches.redis.client;
        assert.equal(await queuedCount(redis, bench.benchId, 'default'), 0, 'nothing waiting');
        assert.equal(await redis.zcard(k.active), 0, 'nothing in flight');
        assert.equal(await redis.zcard(k.finished), JOBS, 'every job finished');
        const executions = new Map<string, number>();
        for (const line of readFileSync(runs, 'utf8').trim().split('\n')) executions.set(line, (executions.get(line) ?? 0) + 1);
        assert.equal(executions.size, JOBS, 'every job ran');
        let twice = 0;
        for (const [i, id] of ids.entries()) {
          const job = await readJob(redis, bench.benchId, 'default', id as string);
          assert.equal(job?.status, 'finished', `${id} is finished`);
          const ran = executions.get(String(i)) ?? 0;
          // A second run only follows a crash of the process that ran it (counted in stalls).
          if (ran > 1) {
            twice++;
            assert.ok((job?.stalls ?? 0) >= 1, `${id} ran ${ran} times without a recorded crash`);
          }
          assert.ok(ran <= (job?.attempts ?? 0), `${id} ran ${ran} times in ${job?.attempts} attempts`);
        }
        // Jobs claimed but never started did not run twice.
        if (point !== 'ending-in-flight') assert.equal(twice, 0, 'no job ran twice');
      } finally {
        rmSync(runs, { force: true });
        rmSync(died, { force: true });
      }
    });
  });
}
