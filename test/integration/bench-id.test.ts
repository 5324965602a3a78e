// The default bench_id: a random id that the first command connecting to Redis saves to
// common_site_config.json (never loading alone), so that benches whose paths give the same old
// path-derived id do not share a namespace, and a moved or copied bench keeps its jobs; an existing bench
// whose jobs live under its path-derived id keeps that one; concurrent first commands agree on one id;
// and `bench doctor` shows other namespaces whose jobs no live worker serves.
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import { loadBenchConfig, pathBenchId } from '../../src/config/load.ts';
import { getWorkers } from '../../src/monitor/workers.ts';
import type { OrphanedNamespace } from '../../src/monitor/namespaces.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import type { TestBench } from '../helpers/bench.ts';
import { type CliResult, runBench, shown } from '../helpers/cli.ts';
import { startSupervisor } from '../helpers/jobs.ts';
import { useRedisBenches } from '../helpers/suite.ts';
import { queuedCount, queuedIds } from '../helpers/queued.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SITE = 'site1.test';
const RANDOM_ID = /^b[a-z2-7]{10}$/;
const benches = useRedisBenches();

const commonOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'sites', 'common_site_config.json'), 'utf8')) as Record<string, unknown>;
/** A bench whose config sets no bench_id (as a new or pre-upgrade bench). */
const unsavedBench = (folder?: string) => benches.newBench({ common: { bench_id: undefined }, ...(folder === undefined ? {} : { folder }) });

async function enqueue(dir: string, queue = 'default'): Promise<string> {
  const r = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo', '--queue', queue], { cwd: dir });
  assert.equal(r.code, 0, shown(r));
  return r.stdout.trim();
}

interface DoctorJson {
  queues: { queue: string; queued: number }[];
  orphaned: OrphanedNamespace[];
}

async function doctor(dir: string): Promise<{ result: CliResult; report: DoctorJson }> {
  const result = await runBench(['doctor', '--json'], { cwd: dir });
  return { result, report: JSON.parse(result.stdout) as DoctorJson };
}

const queued = (report: DoctorJson, queue = 'default') => report.queues.find((q) => q.queue === queue)?.queued;

beforeEach(async () => {
  // Every test reads the whole keyspace (doctor, the old-id check): start from an empty Redis.
  await benches.redis.client.flushall();
});

describe('the default bench_id', () => {
  it('is a random id saved by the first command that connects; loading alone writes nothing', { timeout: 30_000 }, async () => {
    const bench = unsavedBench();
    const before = readFileSync(path.join(bench.path, 'sites', 'common_site_config.json'), 'utf8');
    const loaded = loadBenchConfig(bench.path);
    assert.equal(loaded.benchIdSaved, false);
    assert.equal(readFileSync(path.join(bench.path, 'sites', 'common_site_config.json'), 'utf8'), before);

    const id = await enqueue(bench.path);
    const common = commonOf(bench.path);
    const benchId = String(common['bench_id']);
    assert.match(benchId, RANDOM_ID);
    assert.equal(common['redis_queue'], bench.redisUrl, 'the other keys are kept');
    assert.equal(await benches.redis.client.exists(queueKeys(benchId, 'default').job(id)), 1, 'the job is under the saved id');
    assert.deepEqual(readdirSync(path.join(bench.path, 'sites')).filter((f) => f.startsWith('.') || f.endsWith('.lock')), [], 'no lock or temp file left');
    // The next command uses the saved id: it sees the job.
    assert.equal(queued((await doctor(bench.path)).report), 1);
    assert.equal(commonOf(bench.path)['bench_id'], benchId);
  });

  it('differs for two benches whose paths give the same path-derived id: each sees only its own jobs', { timeout: 40_000 }, async () => {
    const first = unsavedBench(path.join('x', 'a', 'b'));
    // A copy of the bench folder, at a path with the same old id (x/a/b and x/a-b both give ...-x-a-b).
    const second = path.join(first.path, '..', '..', 'a-b');
    cpSync(first.path, second, { recursive: true });
    assert.equal(pathBenchId(first.path), pathBenchId(second));

    await enqueue(first.path);
    await enqueue(first.path);
    await enqueue(second);
    const [idA, idB] = [String(commonOf(first.path)['bench_id']), String(commonOf(second)['bench_id'])];
    assert.match(idA, RANDOM_ID);
    assert.match(idB, RANDOM_ID);
    assert.notEqual(idA, idB);
    assert.equal(queued((await doctor(first.path)).report), 2);
    assert.equal(queued((await doctor(second)).report), 1);
  });

  it('travels with a moved bench: its jobs are found at the new path', { timeout: 30_000 }, async () => {
    const bench = unsavedBench('before');
    await enqueue(bench.path);
    const benchId = commonOf(bench.path)['bench_id'];
    const moved = path.join(bench.path, '..', 'after');
    renameSync(bench.path, moved);
    const { report } = await doctor(moved);
    assert.equal(queued(report), 1);
    assert.equal(commonOf(moved)['bench_id'], benchId);
    assert.deepEqual(report.orphaned, []);
  });

  it('is the path-derived id for an existing bench whose jobs live under it', { timeout: 30_000 }, async () => {
    const bench = unsavedBench();
    const legacy = pathBenchId(bench.path);
    // Jobs enqueued before the upgrade: under the path-derived id, which the config did not name.
    bench.writeCommon({ bench_id: legacy });
    await enqueue(bench.path);
    bench.writeCommon({ bench_id: undefined });
    assert.equal(commonOf(bench.path)['bench_id'], undefined);

    await enqueue(bench.path);
    assert.equal(commonOf(bench.path)['bench_id'], legacy);
    assert.equal(await queuedCount(benches.redis.client, legacy, 'default'), 2);
  });

  it('is the same for concurrent first commands', { timeout: 40_000 }, async () => {
    const bench = unsavedBench();
    const ids = await Promise.all([1, 2, 3, 4].map(() => enqueue(bench.path)));
    const benchId = String(commonOf(bench.path)['bench_id']);
    assert.match(benchId, RANDOM_ID);
    const wait = await queuedIds(benches.redis.client, benchId, 'default');
    assert.deepEqual(new Set(wait), new Set(ids), 'every job is under the one saved id');
  });
});

describe('bench doctor and other namespaces', () => {
  it("warns about another bench's jobs that no live worker serves, without failing; not once a worker is live", { timeout: 40_000 }, async () => {
    const other: TestBench = benches.newBench();
    const bench = benches.newBench();
    await enqueue(other.path, 'long');

    const { result, report } = await doctor(bench.path);
    assert.equal(result.code, 0, shown(result));
    assert.deepEqual(report.orphaned, [{ benchId: other.benchId, jobs: 1, thisBenchPath: false }]);
    const text = await runBench(['doctor'], { cwd: bench.path });
    assert.equal(text.code, 0, shown(text));
    assert.match(text.stdout, new RegExp(`warning: bench namespace "${other.benchId}" on this Redis holds 1 queued/scheduled/running job\\(s\\) and no live worker`));

    const worker = startSupervisor(other, { queues: ['short'] });
    try {
      await waitFor(async () => (await getWorkers(benches.redis.client, other.benchId)).length === 1, { what: "the other bench's worker" });
      assert.deepEqual((await doctor(bench.path)).report.orphaned, []);
    } finally {
      await worker.stop();
    }
  });

  it("fails with ERR_BENCH_ORPHANED when this bench's path-derived id holds jobs while it uses another id", { timeout: 30_000 }, async () => {
    const bench = benches.newBench();
    const legacy = pathBenchId(bench.path);
    bench.writeCommon({ bench_id: legacy });
    await enqueue(bench.path, 'long');
    bench.writeCommon({ bench_id: 'bnewnamespa' });

    const { result, report } = await doctor(bench.path);
    assert.equal(result.code, 1, shown(result));
    assert.deepEqual(report.orphaned, [{ benchId: legacy, jobs: 1, thisBenchPath: true }]);
    const { error } = JSON.parse(result.stderr) as { error: { code: string; message: string } };
    assert.equal(error.code, 'ERR_BENCH_ORPHANED');
    assert.match(error.message, new RegExp(`set bench_id to "${legacy}"`));
  });
});
