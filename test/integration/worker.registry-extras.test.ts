// Worker registry extras shaped as Frappe's: background_process_niceness lowers the priority of the
// worker processes that run jobs (not of their supervisor), and every registry entry reports RQ
// Worker's utilization_percent, which `bench jobs workers` lists.
import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { Heartbeat, utilizationPercent } from '../../src/monitor/heartbeat.ts';
import { runBench } from '../helpers/cli.ts';
import { startSupervisor, stopped } from '../helpers/jobs.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';

const benches = useRedisBenches();

async function workerPids(benchPath: string, n: number): Promise<number[]> {
  const client = await BenchClient.open({ benchPath });
  try {
    const workers = await waitFor(async () => {
      const list = await client.getWorkers();
      return list.length === n ? list : undefined;
    }, { what: `${n} workers in the registry` });
    return workers.map((w) => w.pid);
  } finally {
    await client.close();
  }
}

describe('background_process_niceness', () => {
  it('runs the worker processes at nice +N and leaves their supervisor as it was', { timeout: 30_000 }, async () => {
    const own = os.getPriority();
    const bench = benches.newBench({ common: { background_process_niceness: 5 }, sites: { 'a.test': {} } });
    const running = startSupervisor(bench, { numWorkers: 2 });
    try {
      const pids = await workerPids(bench.path, 2);
      await waitFor(() => pids.every((pid) => os.getPriority(pid) === Math.min(19, own + 5)), { what: 'worker processes at nice +5' });
      assert.equal(os.getPriority(), own, 'the supervisor keeps its priority');
    } finally {
      await stopped(running);
    }
  });

  it('changes nothing when unset', { timeout: 30_000 }, async () => {
    const bench = benches.newBench({ sites: { 'a.test': {} } });
    const running = startSupervisor(bench, { numWorkers: 1 });
    try {
      const [pid] = await workerPids(bench.path, 1);
      assert.equal(os.getPriority(pid), os.getPriority());
    } finally {
      await stopped(running);
    }
  });

  it('is refused out of its range 0-19', async () => {
    const bench = benches.newBench({ common: { background_process_niceness: 20 }, sites: { 'a.test': {} } });
    const r = await runBench(['doctor'], { cwd: bench.path });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ERR_CONFIG_INVALID.*background_process_niceness.*0-19|background_process_niceness[^\n]*20/);
  });
});

describe('utilization_percent', () => {
  it('is working time over time alive (per concurrency slot), in percent, 0-100', () => {
    assert.equal(utilizationPercent(500, 1000, 2000), 50);
    assert.equal(utilizationPercent(500, 1000, 2000, 2), 25);
    assert.equal(utilizationPercent(0, 1000, 2000), 0);
    assert.equal(utilizationPercent(10, 1000, 1000), 0, 'no time alive yet');
    assert.equal(utilizationPercent(3000, 1000, 2000), 100, 'capped');
    assert.equal(utilizationPercent(1, 0, 3000), 0.03);
  });

  it('is reported by the registry and listed by `bench jobs workers`', { timeout: 30_000 }, async () => {
    const bench = benches.newBench({ sites: { 'a.test': {} } });
    const client = await BenchClient.open({ benchPath: bench.path });
    try {
      const birth = Date.now() - 4000;
      const state = { pid: 4242, supervisorPid: 4241, queues: ['short', 'default'], state: 'idle' as const, currentJobs: [], successful: 3, failed: 1, birth };
      await new Heartbeat(await client.connection(), bench.benchId).beat([
        { ...state, name: 'host.4242.aaaaaa', totalWorkingMs: 1000, concurrency: 1 },
        { ...state, name: 'host.4243.bbbbbb', totalWorkingMs: 1000, concurrency: 4 },
      ]);
      const [one, four] = await client.getWorkers();
      assert.ok(one && four);
      assert.ok(one.utilizationPercent > 24 && one.utilizationPercent <= 25, `about 25%: ${one.utilizationPercent}`);
      assert.ok(four.utilizationPercent > 6 && four.utilizationPercent <= 6.25, `about 6.25%: ${four.utilizationPercent}`);
      assert.equal(one.totalWorkingTime, 1);
      assert.equal(four.concurrency, 4);

      const plain = await runBench(['jobs', 'workers'], { cwd: bench.path });
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /^NAME +QUEUES +STATE +JOBS +OK +FAILED +WORKING +UTILIZATION +BORN\n/);
      assert.match(plain.stdout, /\nhost\.4242\.aaaaaa +short,default +idle +- +3 +1 +1\.0 s +2\d\.\d% +\d{4}-/);
      const json = JSON.parse((await runBench(['jobs', 'workers', '--json'], { cwd: bench.path })).stdout) as { name: string; utilizationPercent: number }[];
      assert.deepEqual(json.map((w) => w.name), ['host.4242.aaaaaa', 'host.4243.bbbbbb']);
      assert.equal(json[0]?.utilizationPercent, one.utilizationPercent);
      const none = await runBench(['jobs', 'workers', '--queue', 'long'], { cwd: bench.path });
      assert.equal(none.stdout, 'no live workers on long\n');
    } finally {
      await client.close();
    }
  });
});
