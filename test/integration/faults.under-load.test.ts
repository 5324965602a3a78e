// Network faults under load, through an in-process TCP fault proxy (test/helpers/fault-proxy.ts) between
// the worker and its private Redis: connections cut again and again, a silent stall, and a fixed delay
// each way, while thousands of short jobs are claimed and ended. Each must leave every job finished and
// its end recorded once (one job_finished event, its result from its latest claim: fencing holds),
// nothing in flight or queued, every worker process still taking work, and a job run again only under a
// claim of its own (a run twice is counted and printed). The test's own checks go to Redis directly.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { BenchClient } from '../../src/client.ts';
import { isBenchError } from '../../src/errors.ts';
import { benchKeys, queueKeys } from '../../src/redis/keys.ts';
import { localPortsOf } from '../helpers/fault-proxy.ts';
import { faultyBench as makeFaultyBench, type FaultyBench } from '../helpers/faulty-bench.ts';
import { startSupervisor, stopped } from '../helpers/jobs.ts';
import { within } from '../helpers/process.ts';
import { queuedCount, queuedIds } from '../helpers/queued.ts';
import { waitFor } from '../helpers/wait-for.ts';

const WORKERS = 2;
const CONCURRENCY = 4;
const SITE = 'site1.test';
const BULK = 20_000;

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const faultyBench = (extra: Record<string, unknown> = {}) => makeFaultyBench((cleanup) => cleanups.push(cleanup), extra);

/** Runs per job id, from the lines testapp.tasks.chaos appends ("jobId attempt pid"), from byte `from` on. */
function runsOf(file: string, from = 0): Map<string, { attempt: number; pid: number }[]> {
  const runs = new Map<string, { attempt: number; pid: number }[]>();
  const text = existsSync(file) ? readFileSync(file).subarray(from).toString('utf8') : '';
  for (const line of text.split('\n').filter(Boolean)) {
    const [id, attempt, pid] = line.split(' ') as [string, string, string];
    runs.set(id, [...(runs.get(id) ?? []), { attempt: Number(attempt), pid: Number(pid) }]);
  }
  return runs;
}

/** job_finished events per job id, as published on the bench's events channel (one per recorded end). */
async function countFinishEvents(redis: Redis, benchId: string): Promise<{ counts: Map<string, number>; close(): void }> {
  const counts = new Map<string, number>();
  const subscriber = redis.duplicate();
  subscriber.on('message', (_channel: string, text: string) => {
    const event = JSON.parse(text) as { event: string; message: { job_id: string } };
    if (event.event === 'job_finished') counts.set(event.message.job_id, (counts.get(event.message.job_id) ?? 0) + 1);
  });
  await subscriber.subscribe(benchKeys(benchId).events);
  return { counts, close: () => subscriber.disconnect() };
}

async function workerPids(redis: Redis, benchId: string): Promise<number[]> {
  const keys = benchKeys(benchId);
  const names = await redis.zrange(keys.workers, '0', '-1');
  const pids = await Promise.all(names.map((name) => redis.hget(keys.worker(name), 'pid')));
  return pids.filter((pid): pid is string => pid !== null).map(Number);
}

interface DrainOutcome {
  drainMs: number;
  duplicates: number;
}

/**
 * Enqueue `jobs` short chaos jobs, drain them with WORKERS x CONCURRENCY worker processes through the
 * proxy while `fault` runs (it resolves once its faults are done), then check every job ended once and
 * every worker process still takes work. Resolves to how long the drain took and how many jobs ran twice.
 */
async function drainUnder(f: FaultyBench, jobs: number, fault: (finished: () => Promise<number>) => Promise<void>): Promise<DrainOutcome> {
  const { redis, bench, client, runsFile } = f;
  const k = queueKeys(bench.benchId, 'default');
  const finished = () => redis.client.zcard(k.finished);
  const ids = await client.enqueueMany('testapp.tasks.chaos', Array.from({ length: jobs }, (_, i) => ({ file: runsFile, ms: 2 + (i % 4) })), { site: SITE });
  const events = await countFinishEvents(redis.client, bench.benchId);
  const worker = startSupervisor(bench, { numWorkers: WORKERS, concurrency: CONCURRENCY, queues: ['default'] });
  try {
    const startedAt = Date.now();
    await fault(finished);
    await waitFor(async () => (await finished()) === ids.length, { what: `all ${ids.length} jobs to finish`, timeoutMs: 60_000, intervalMs: 50 });
    const drainMs = Date.now() - startedAt;
    await waitFor(() => ids.every((id) => events.counts.has(id)), { what: 'a job_finished event for every job' });

    // No worker process is left stalled: each one runs some of a fresh batch of jobs.
    const pids = await workerPids(redis.client, bench.benchId);
    assert.equal(pids.length, WORKERS, 'every worker process is still registered');
    const probeStart = statSync(runsFile).size;
    const probes = await client.enqueueMany('testapp.tasks.chaos', Array.from({ length: 120 }, () => ({ file: runsFile, ms: 25 })), { site: SITE });
    await waitFor(async () => (await finished()) === ids.length + probes.length, { what: 'the probe jobs to finish', timeoutMs: 30_000 });
    const probeRuns = [...runsOf(runsFile, probeStart).values()].flat();
    for (const pid of pids) assert.ok(probeRuns.some((run) => run.pid === pid), `worker process ${pid} still takes work`);
    await stopped(worker);

    const runs = runsOf(runsFile);
    const pipeline = redis.client.pipeline();
    for (const id of ids) pipeline.hmget(k.job(id), 'status', 'attempts', 'result');
    const records = ((await pipeline.exec()) ?? []).map(([, value]) => value as [string | null, string | null, string | null]);
    const problems: string[] = [];
    let duplicates = 0;
    records.forEach(([status, attempts, result], i) => {
      const id = ids[i] as string;
      const ran = runs.get(id) ?? [];
      if (ran.length > 1) duplicates++;
      if (status !== 'finished') problems.push(`${id}: status ${String(status)}`);
      if (ran.length === 0) problems.push(`${id}: never ran`);
      // Each run under a claim of its own, and the end recorded is the latest claim's (fencing).
      if (new Set(ran.map((r) => r.attempt)).size !== ran.length) problems.push(`${id}: ran twice under one claim ${JSON.stringify(ran)}`);
      if (result !== attempts) problems.push(`${id}: result of attempt ${String(result)} recorded, latest claim is attempt ${String(attempts)}`);
      if (events.counts.get(id) !== 1) problems.push(`${id}: ${events.counts.get(id) ?? 0} job_finished events`);
    });
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} jobs not ended exactly once`);
    assert.equal(await redis.client.zcard(k.finished), ids.length + probes.length, 'each job once in the finished set');
    assert.equal(await redis.client.zcard(k.active), 0, 'nothing in flight');
    assert.equal(await queuedCount(redis.client, bench.benchId, 'default'), 0, 'nothing queued');
    return { drainMs, duplicates };
  } catch (err) {
    await stopped(worker).catch(() => undefined);
    throw err;
  } finally {
    events.close();
  }
}

describe('network faults under load', () => {
  it('connections cut again and again while jobs are claimed and ended: every job ends once', { timeout: 120_000 }, async () => {
    const f = await faultyBench();
    const JOBS = 3000;
    const cuts: string[] = [];
    const outcome = await drainUnder(f, JOBS, async (finished) => {
      await waitFor(async () => (await finished()) >= JOBS * 0.05, { what: 'the drain to be under way', timeoutMs: 30_000, intervalMs: 10 });
      for (let n = 1; n <= 6; n++) {
        // Odd rounds cut every connection (the supervisor's too) wherever its commands are; even ones cut
        // one worker process's as Redis answers it (its claim-and-end call ran, the answer is lost).
        if (n % 2 === 1) {
          const hit = f.proxy.count();
          f.proxy.cutExisting();
          cuts.push(`all: ${hit} connections at ${await finished()} finished`);
        } else {
          // The process may still be reconnecting after the last cut: wait for its connection.
          const pid = (await workerPids(f.redis.client, f.bench.benchId))[(n / 2) % WORKERS] as number;
          const only = await waitFor(() => (f.proxy.count(localPortsOf([pid])) > 0 ? localPortsOf([pid]) : undefined), { what: `a connection of worker process ${pid}` });
          const hit = f.proxy.count(only);
          await within(f.proxy.cutOnNextReply(only), 10_000, `an answer to worker process ${pid}`);
          cuts.push(`process ${pid}'s answer lost: ${hit} connections at ${await finished()} finished`);
        }
        await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 200));
      }
    });
    console.log(`cuts: ${cuts.join('; ')}`);
    console.log(`${JOBS} jobs drained in ${outcome.drainMs} ms through ${cuts.length} cuts; ${outcome.duplicates} ran twice`);
    const lastCut = Number(/at (\d+) finished/.exec(cuts.at(-1) ?? '')?.[1]);
    assert.ok(lastCut < JOBS, 'the last cut landed before the drain ended');
    assert.ok(cuts.every((c) => !c.includes(': 0 connections')), 'every cut hit open connections');
    assert.ok(outcome.duplicates <= cuts.length * WORKERS * CONCURRENCY, `duplicates bounded: ${outcome.duplicates}`);
  });

  it('a silent stall of every connection while jobs are ended: the socket timeouts recover, every job ends once', { timeout: 120_000 }, async () => {
    const f = await faultyBench();
    const JOBS = 2000;
    let stalledAt = 0;
    const outcome = await drainUnder(f, JOBS, async (finished) => {
      await waitFor(async () => (await finished()) >= JOBS * 0.1, { what: 'the drain to be under way', timeoutMs: 30_000, intervalMs: 10 });
      stalledAt = Date.now();
      const before = await finished();
      // Every open connection freezes (a partition); new ones pass, once the workers give the old ones up.
      f.proxy.stallExisting();
      await waitFor(async () => (await finished()) > before + 50, { what: 'jobs to end again after the stall', timeoutMs: 45_000 });
      console.log(`stall: ${before} of ${JOBS} finished when it began; jobs ended again ${Date.now() - stalledAt} ms after it`);
    });
    console.log(`${JOBS} jobs drained in ${outcome.drainMs} ms through a silent stall; ${outcome.duplicates} ran twice`);
    assert.ok(outcome.duplicates <= WORKERS * CONCURRENCY, `duplicates bounded: ${outcome.duplicates}`);
  });

  it('20 ms of delay each way for a whole drain: every job ends once', { timeout: 120_000 }, async () => {
    const f = await faultyBench();
    const JOBS = 500;
    f.proxy.latency(20);
    const outcome = await drainUnder(f, JOBS, async () => undefined);
    f.proxy.latency(0);
    console.log(`${JOBS} jobs drained with 20 ms each way in ${outcome.drainMs} ms (${Math.round((JOBS * 1000) / outcome.drainMs)} jobs/s, worker start included); ${outcome.duplicates} ran twice`);
    assert.equal(outcome.duplicates, 0, 'a slow network alone runs no job twice');
  });
});

/** The entries (kwargs.i) the queue holds, each with how many jobs carry it. */
async function queuedEntries(f: FaultyBench): Promise<Map<number, number>> {
  const k = queueKeys(f.bench.benchId, 'default');
  const pipeline = f.redis.client.pipeline();
  for (const id of await queuedIds(f.redis.client, f.bench.benchId, 'default')) pipeline.hget(k.job(id), 'kwargs');
  const entries = new Map<number, number>();
  for (const [, kwargs] of (await pipeline.exec()) ?? []) {
    const { i } = JSON.parse(kwargs as string) as { i: number };
    entries.set(i, (entries.get(i) ?? 0) + 1);
  }
  return entries;
}

/**
 * A bulk enqueue of BULK jobs by a producer through the proxy, `fault` armed as it starts; then what its
 * error (if any) says to do, by a new producer (or, `sameProducer`, by that one): resume with its token,
 * or run it again without one. Resolves to how the first call ended; asserts every entry is queued once.
 */
async function bulkThrough(f: FaultyBench, fault: () => Promise<void>, label: string, sameProducer = false): Promise<string> {
  const list = Array.from({ length: BULK }, (_, i) => ({ i }));
  const producer = await BenchClient.open({ benchPath: f.bench.path });
  cleanups.push(() => producer.close());
  const startedAt = Date.now();
  const faulted = fault();
  const first = await producer.enqueueMany('testapp.tasks.echo', list, { site: SITE }).then(
    (ids) => ({ ids, err: undefined }),
    (err: unknown) => ({ ids: [], err }),
  );
  const tookMs = Date.now() - startedAt;
  await within(faulted, 5000, 'the fault to land before the enqueue ended');
  f.proxy.refuseNew = false;
  let outcome = `resolved with ${first.ids.length} ids`;
  const { err } = first;
  if (err !== undefined) {
    assert.ok(isBenchError(err) && err.code === 'ERR_ENQUEUE_INCOMPLETE', `rejects with ERR_ENQUEUE_INCOMPLETE: ${String(err)}`);
    const { enqueued, resumeToken } = err.details as { enqueued: number; resumeToken?: string };
    const again = sameProducer ? producer : await BenchClient.open({ benchPath: f.bench.path });
    const rest = await again.enqueueMany('testapp.tasks.echo', list, { site: SITE, ...(resumeToken && { resume: resumeToken }) });
    await again.close();
    outcome = `rejected (${enqueued} enqueued, token ${resumeToken ?? 'none'}: "${err.message}"), then ${resumeToken ? 'resumed' : 'run again'}: ${rest.length} more`;
  } else {
    assert.equal(first.ids.length, BULK);
  }
  console.log(`bulk enqueue, ${label}: first call ${tookMs} ms, ${f.proxy.bytesToRedis} bytes to Redis through the proxy (resume included); ${outcome}`);
  const entries = await queuedEntries(f);
  const twice = [...entries.values()].filter((n) => n > 1).length;
  assert.deepEqual({ entries: entries.size, twice, jobs: await queuedCount(f.redis.client, f.bench.benchId, 'default') }, { entries: BULK, twice: 0, jobs: BULK });
  return outcome;
}

describe('network faults during a bulk enqueue', () => {
  it('three cuts in the middle of commands, reconnects allowed: every entry queued once', { timeout: 60_000 }, async () => {
    const f = await faultyBench();
    let cuts = 0;
    await bulkThrough(f, async () => {
      for (; cuts < 3; cuts++) await f.proxy.cutAfter(150_000);
    }, 'three cuts 150 KB apart');
    assert.equal(cuts, 3, 'every cut landed');
  });

  it('a cut in the middle of a command, reconnects refused: the error resumes to every entry queued once', { timeout: 60_000 }, async () => {
    const f = await faultyBench();
    const outcome = await bulkThrough(f, () => f.proxy.cutAfter(400_000).then(() => void (f.proxy.refuseNew = true)), 'cut at 400 KB, reconnects refused');
    assert.match(outcome, /^rejected .* resumed/);
  });

  it('the producer that got the error resumes on its own once Redis answers again', { timeout: 60_000 }, async () => {
    const f = await faultyBench();
    const outcome = await bulkThrough(f, () => f.proxy.cutAfter(400_000).then(() => void (f.proxy.refuseNew = true)), 'same producer resumes', true);
    assert.match(outcome, /^rejected .* resumed/);
  });

  it('the first call written but its reply lost, reconnects refused: the error does not lead to a second copy', { timeout: 60_000 }, async () => {
    const f = await faultyBench();
    // The first array reply is the first enqueue call's (the progress record's replies before it are integers).
    const firstCallReply = (reply: Buffer) => reply.includes('*');
    const outcome = await bulkThrough(f, () => f.proxy.cutOnNextReply(undefined, firstCallReply).then(() => void (f.proxy.refuseNew = true)), 'first reply lost, reconnects refused');
    // Redis could not be asked how far it got: the count is a lower bound, and the token is given.
    assert.match(outcome, /^rejected \(\d+ enqueued, token [0-9a-f]{16}: "bulk enqueue stopped: at least \d+ of 20000 jobs were enqueued .* may not have been .*"\), then resumed/);
    assert.doesNotMatch(outcome, /Nothing was written|were not \(/);
  });

  it('a cut in the first command, reconnects refused: the error cannot know that nothing was written, its token resumes all', { timeout: 60_000 }, async () => {
    const f = await faultyBench();
    const outcome = await bulkThrough(f, () => f.proxy.cutAfter(2000).then(() => void (f.proxy.refuseNew = true)), 'cut 2 KB in, reconnects refused');
    assert.match(outcome, /^rejected \(0 enqueued, token [0-9a-f]{16}: .* may not have been .*\), then resumed: 20000 more$/);
  });
});
