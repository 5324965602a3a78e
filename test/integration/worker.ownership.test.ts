// Ownership of running jobs: each worker process holds its jobs through a liveness stamp that its
// supervisor renews whatever the jobs do. A CPU-bound job keeps its jobs for as long as it runs; a
// process whose stamp lapsed (its supervisor could not renew it in time) loses them: they go back to
// their queue and run elsewhere, and the process is replaced, never claiming again.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { loadBenchConfig } from '../../src/config/load.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { Supervisor } from '../../src/worker/supervisor.ts';
import { waitForStatus } from '../helpers/jobs.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { BenchClient } from '../../src/client.ts';

const benches = useRedisBenches();
const SITE = 'site1.test';

function tempFile(name: string): string {
  return path.join(os.tmpdir(), `bw-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
}

const holders = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

function capturing(benchPath: string) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const supervisor = new Supervisor({ bench: loadBenchConfig(benchPath), log, queues: ['default'] });
  return { supervisor, done: supervisor.run(), lines };
}

describe('liveness stamps', () => {
  it('a job that keeps its event loop busy longer than a stamp keeps its job', { timeout: 60_000 }, async () => {
    // Stamps of 2 s; the job spins 5 s without yielding, so nothing in its process can renew anything.
    const bench = benches.newBench({ common: { worker_lease_ttl: 2 } });
    const client = await BenchClient.open({ benchPath: bench.path });
    const { supervisor, done } = capturing(bench.path);
    try {
      const id = await client.enqueue('testapp.tasks.busy', { site: SITE, kwargs: { ms: 5000 } });
      const job = await waitForStatus(benches.redis.client, bench, 'default', id, 'finished', 30_000);
      assert.equal(job.attempts, 1, 'ran once: its process kept the job');
      assert.equal(job.stalls, 0);
    } finally {
      await client.close();
      await supervisor.stop();
      await done;
    }
  });

  it('a process whose stamp lapsed loses its job to the queue and is replaced', { timeout: 60_000 }, async () => {
    const bench = benches.newBench({ common: { worker_lease_ttl: 2 } });
    const client = await BenchClient.open({ benchPath: bench.path });
    const file = tempFile('stamp');
    const { supervisor, done, lines } = capturing(bench.path);
    try {
      const id = await client.enqueue('testapp.tasks.hold', { site: SITE, kwargs: { file, ms: 3000 } });
      await waitFor(() => holders(file).length === 1, { what: 'the job to start' });
      const k = queueKeys(bench.benchId, 'default');
      const [owner] = await benches.redis.client.zrange(k.owners, '0', '0');
      assert.ok(owner, 'the worker process has a stamp');
      // As if its supervisor had not renewed it in time (a pause, a partition).
      await benches.redis.client.zrem(k.owners, owner);
      const job = await waitForStatus(benches.redis.client, bench, 'default', id, 'finished', 30_000);
      assert.equal(job.attempts, 2, 'claimed again after its first process lost it');
      assert.equal(holders(file).length, 2);
      const [first, second] = holders(file).map((line) => Number(line.split(' ')[0]));
      assert.notEqual(first, second, 'the second run is in another process');
      assert.ok(lines.some((l) => l['msg'] === 'worker process lost its liveness stamp (Redis unreachable for too long?); replacing it' || l['killedFor'] === 'owner lost'));
      assert.equal(await benches.redis.client.zscore(k.owners, owner), null, 'the lost stamp does not come back');
    } finally {
      await client.close();
      await supervisor.stop();
      await done;
    }
  });
});
