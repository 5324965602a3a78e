// Chaos: thousands of jobs, several supervisors with several worker processes each, random SIGKILLs of
// worker processes and of supervisors while they run, and a Redis restart (AOF on), then a full drain.
// Checks, as a total-queue checker: every accepted job completed at least once, none lost, none left in
// flight, every extra run of a job followed a recorded crash (its worker process died under it), and
// no process is left behind.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { benchKeys, queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { processAlive } from '../helpers/process.ts';
import { queuedCount, queuedIds } from '../helpers/queued.ts';
import { spawnBench } from '../helpers/cli.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const JOBS = Number(process.env['CHAOS_JOBS'] ?? 3000);
const SUPERVISORS = 3;
const QUEUES = ['short', 'default', 'long'];

let redis: TestRedis;
let bench: TestBench;

before(async () => {
  redis = await startRedis({ appendonly: true });
  // Two sites share the queues (per-site lanes, turns), one under a max_concurrent_jobs cap whose
  // running count must survive the kills and the restart.
  bench = makeBench({
    redisUrl: redis.url,
    common: { worker_lease_ttl: 2, job_crash_limit: 1000, max_queued_jobs: 10_000 },
    sites: { 'site1.test': {}, 'site2.test': { max_concurrent_jobs: 3 } },
  });
});

after(async () => {
  await redis.stop();
  bench.remove();
});

function startSupervisor(): ChildProcess {
  const child = spawnBench(['worker', '--num-workers', '2', '--concurrency', '2', '--quiet'], { cwd: bench.path });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

async function childPids(): Promise<number[]> {
  const keys = benchKeys(bench.benchId);
  const names = await redis.client.zrange(keys.workers, '0', '-1');
  const pids = await Promise.all(names.map((n) => redis.client.hget(keys.worker(n), 'pid')));
  return pids.filter((p): p is string => p !== null).map(Number);
}

function kill(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

describe('chaos', () => {
  it(`${JOBS} jobs survive random SIGKILLs of worker processes and supervisors, and a Redis restart`, { timeout: 240_000 }, async () => {
    const file = path.join(os.tmpdir(), `bw-chaos-${process.pid}-${Date.now()}`);
    const client = await BenchClient.open({ benchPath: bench.path });
    const ids: { queue: string; id: string }[] = [];
    for (const queue of QUEUES) {
      for (const site of ['site1.test', 'site2.test']) {
        const list = Array.from({ length: Math.ceil(JOBS / QUEUES.length / 2) }, (_, i) => ({ file, ms: 5 + (i % 11) }));
        ids.push(...(await client.enqueueMany('testapp.tasks.chaos', list, { site, queue })).map((id) => ({ queue, id })));
      }
    }
    await client.close();

    const finishedCount = async () => {
      const counts = await Promise.all(QUEUES.map((q) => redis.client.zcard(queueKeys(bench.benchId, q).finished)));
      return counts.reduce((a, b) => a + b, 0);
    };
    let supervisors = Array.from({ length: SUPERVISORS }, startSupervisor);
    const everyPid = new Set<number>();
    let childKills = 0;
    let supervisorKills = 0;
    let restarted = false;
    let round = 0;
    const chaosUntil = Date.now() + 12_000;
    // Keep going until most jobs are done and enough kills have landed: a fast engine can otherwise
    // drain the queues before the chaos has really happened.
    const enoughChaos = async () => childKills + supervisorKills > 5 && (await finishedCount().catch(() => 0)) >= ids.length * 0.9;
    while (Date.now() < chaosUntil && !(await enoughChaos())) {
      await new Promise((r) => setTimeout(r, 250 + Math.random() * 400));
      for (const s of supervisors) if (s.pid !== undefined) everyPid.add(s.pid);
      const pids = await childPids().catch(() => []);
      for (const pid of pids) everyPid.add(pid);
      if (++round === 3) {
        restarted = true;
        await redis.restart({ kill: true });
      } else if (Math.random() < 0.7) {
        const victim = pids[Math.floor(Math.random() * pids.length)];
        if (victim !== undefined && kill(victim)) childKills++;
      } else {
        const index = Math.floor(Math.random() * supervisors.length);
        const victim = supervisors[index] as ChildProcess;
        if (victim.pid !== undefined && kill(victim.pid)) supervisorKills++;
        supervisors[index] = startSupervisor();
      }
    }

    await waitFor(async () => (await finishedCount()) === ids.length, { what: 'every job to finish', timeoutMs: 150_000, intervalMs: 250 });
    // Nothing runs: the capped site's running count is back to none (ended jobs counted out; the reaper sets
    // a count a restart left wrong right within a period).
    const countedRunning = async () => (await Promise.all(QUEUES.map((q) => redis.client.hlen(queueKeys(bench.benchId, q).running)))).reduce((a, b) => a + b, 0);
    await waitFor(async () => (await countedRunning()) === 0, { what: 'no running job left counted against the cap', timeoutMs: 15_000 });
    for (const pid of await childPids()) everyPid.add(pid);
    for (const s of supervisors) s.kill('SIGTERM');
    await Promise.all(supervisors.map((s) => (exited(s) ? undefined : new Promise((r) => s.once('exit', r)))));
    supervisors = [];
    await waitFor(() => [...everyPid].every((pid) => !processAlive(pid)), { what: 'every supervisor and worker process to be gone', timeoutMs: 15_000 });

    const runs = new Map<string, number>();
    for (const line of existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []) {
      const id = line.split(' ')[0] as string;
      runs.set(id, (runs.get(id) ?? 0) + 1);
    }
    const pipeline = redis.client.pipeline();
    for (const { queue, id } of ids) pipeline.hmget(queueKeys(bench.benchId, queue).job(id), 'status', 'attempts', 'stalls');
    const records = ((await pipeline.exec()) ?? []).map(([, v]) => v as [string | null, string | null, string | null]);

    let lost = 0;
    let duplicated = 0;
    let unexplained = 0;
    records.forEach(([status, attempts, stalls], i) => {
      const id = ids[i]?.id as string;
      const executions = runs.get(id) ?? 0;
      if (status !== 'finished' || executions === 0) lost++;
      if (executions > 1) duplicated++;
      // Every claim after the first must follow a recorded crash (lease expired / child died).
      if (Number(attempts) !== Number(stalls ?? 0) + 1 || executions > Number(attempts)) unexplained++;
    });
    let inFlight = 0;
    let waiting = 0;
    let counted = 0;
    for (const queue of QUEUES) {
      inFlight += await redis.client.zcard(queueKeys(bench.benchId, queue).active);
      waiting += (await queuedIds(redis.client, bench.benchId, queue)).length;
      counted += await queuedCount(redis.client, bench.benchId, queue);
    }
    console.log(
      `chaos: ${ids.length} jobs, ${childKills} worker process kills, ${supervisorKills} supervisor kills, Redis restarted: ${restarted}; ` +
        `${runs.size} jobs ran, ${duplicated} ran more than once (all after a crash: ${unexplained === 0}), ` +
        `${lost} lost, ${inFlight} in flight, ${waiting} waiting`,
    );
    assert.equal(lost, 0, 'no accepted job is lost');
    assert.equal(runs.size, ids.length, 'every job ran at least once');
    assert.equal(inFlight, 0, 'nothing left in flight');
    assert.equal(waiting, 0, 'nothing left waiting');
    assert.equal(counted, 0, 'the queues\' lengths count nothing waiting');
    assert.equal(unexplained, 0, 'duplicates only for jobs whose executor died');
    assert.ok(childKills + supervisorKills > 5, 'the chaos really happened');
    assert.ok(restarted, 'Redis was restarted mid-run');
  });
});
