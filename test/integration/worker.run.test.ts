// A worker runs jobs end to end against a real redis-server: results, failures, timeouts (a job that
// blocks its event loop), crashed children, site/app checks and the job context.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { queueKeys } from '../../src/redis/keys.ts';
import { useBenchSuite } from '../helpers/suite.ts';
import { drained, startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { killWorkerProcesses } from '../helpers/process.ts';

const SITE = 'site1.test';
const suite = useBenchSuite({ common: { job_timeout_grace: 1, custom_key: 'from-common' },
    sites: { [SITE]: { custom_key: 'from-site' }, 'other.test': { installed_apps: ['otherapp'] } } });
// Last resort: a worker process still running (a job spinning in it) would keep the runner open; kill
// the ones this file forked (a passing run has none left).
after(() => {
  killWorkerProcesses();
});

describe('worker runs jobs', () => {
  it('stores the result of a finished job for rq_results_ttl', async () => {
    const id = await suite.client.enqueue('testapp.tasks.add', { site: SITE, kwargs: { a: 2, b: 40 } });
    const w = startSupervisor(suite.bench, { burst: true });
    await w.done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished');
    assert.equal(job.result, 42);
    assert.equal(job.attempts, 1);
    assert.ok(job.startedAt && job.endedAt && job.endedAt >= job.startedAt);
    const ttl = await suite.redis.client.ttl(queueKeys(suite.bench.benchId, 'default').job(id));
    assert.ok(ttl > 590 && ttl <= 600, `result TTL ${ttl} should be about rq_results_ttl (600)`);
    assert.equal(await suite.redis.client.zscore(queueKeys(suite.bench.benchId, 'default').active, id), null);
  });

  it('keeps a failed job with message and stack for rq_job_failure_ttl, and goes on', async () => {
    const bad = await suite.client.enqueue('testapp.tasks.fail', { site: SITE, kwargs: { message: 'no luck' } });
    const good = await suite.client.enqueue('testapp.tasks.echo', { site: SITE, kwargs: { ok: true } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const failed = await waitForStatus(suite.redis.client, suite.bench, 'default', bad, 'failed');
    assert.equal(failed.error?.message, 'no luck');
    assert.match(failed.error?.stack ?? '', /tasks\.ts/);
    const ttl = await suite.redis.client.ttl(queueKeys(suite.bench.benchId, 'default').job(bad));
    assert.ok(ttl > 604_700 && ttl <= 604_800, `failure TTL ${ttl} should be about 7 days`);
    assert.ok(await suite.redis.client.zscore(queueKeys(suite.bench.benchId, 'default').failed, bad));
    assert.deepEqual((await waitForStatus(suite.redis.client, suite.bench, 'default', good, 'finished')).result, { ok: true });
  });

  it('kills a job that blocks its event loop past its timeout, then runs the next job on a fresh child', { timeout: 40_000 }, async () => {
    const before1 = await suite.client.enqueue('testapp.tasks.context', { site: SITE });
    const spin = await suite.client.enqueue('testapp.tasks.spin', { site: SITE, timeout: 1 });
    const after1 = await suite.client.enqueue('testapp.tasks.context', { site: SITE });
    const started = Date.now();
    // Bounded: were the kill broken, the burst would never drain; drained() then kills the spinning
    // worker process, so the failure is quick and leaves nothing running.
    await drained(startSupervisor(suite.bench, { burst: true }));
    const timedOut = await waitForStatus(suite.redis.client, suite.bench, 'default', spin, 'failed');
    assert.equal(timedOut.error?.code, 'ERR_JOB_TIMEOUT');
    assert.match(timedOut.error?.message ?? '', /timeout of 1 s/);
    assert.ok(Date.now() - started < 15_000);
    const pidBefore = (await waitForStatus(suite.redis.client, suite.bench, 'default', before1, 'finished')).result as { pid: number };
    const pidAfter = (await waitForStatus(suite.redis.client, suite.bench, 'default', after1, 'finished')).result as { pid: number };
    assert.notEqual(pidBefore.pid, pidAfter.pid, 'the killed child must be replaced by a fresh one');
  });

  it('reuses one child process across jobs', async () => {
    const ids = await suite.client.enqueueMany('testapp.tasks.context', [{}, {}, {}], { site: SITE });
    await startSupervisor(suite.bench, { burst: true }).done;
    const pids = new Set<number>();
    for (const id of ids) pids.add(((await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished')).result as { pid: number }).pid);
    assert.equal(pids.size, 1);
    assert.ok(!pids.has(process.pid), 'jobs must not run in the worker process');
  });

  it('gives the job its context: site, id, queue, user, attempt, merged site config', async () => {
    const id = await suite.client.enqueue('testapp.tasks.context', { site: SITE, queue: 'short', user: 'alice@example.com', jobName: 'ctx check' });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'short', id, 'finished');
    assert.deepEqual({ ...(job.result as Record<string, unknown>), pid: 0 }, {
      site: SITE,
      jobId: id,
      queue: 'short',
      method: 'testapp.tasks.context',
      jobName: 'ctx check',
      user: 'alice@example.com',
      attempt: 1,
      timeout: 300,
      aborted: false,
      hasLog: true,
      custom: 'from-site',
      pid: 0,
    });
  });

  it('fails a job whose result is not JSON-serialisable', async () => {
    const id = await suite.client.enqueue('testapp.tasks.unserialisable', { site: SITE });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.equal(job.error?.code, 'ERR_RESULT_NOT_SERIALISABLE');
  });

  it('lets a job enqueue another job', async () => {
    const file = path.join(os.tmpdir(), `bw-chain-${process.pid}-${Date.now()}`);
    const id = await suite.client.enqueue('testapp.tasks.chain', { site: SITE, kwargs: { file } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished');
    assert.match(String(job.result), /^site1\.test\|\|/);
    assert.equal(readFileSync(file, 'utf8'), 'chained\n');
  });

  it('fails a job whose app is not installed on its site, and the worker lives on', async () => {
    const sitePath = path.join(suite.bench.path, 'sites', SITE, 'site_config.json');
    const id = await suite.client.enqueue('testapp.tasks.echo', { site: SITE, kwargs: {} });
    writeFileSync(sitePath, JSON.stringify({ installed_apps: ['otherapp'] }));
    const ok = await suite.client.enqueue('otherapp.tasks.hello', { site: SITE });
    try {
      await startSupervisor(suite.bench, { burst: true }).done;
      const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
      assert.equal(job.error?.code, 'ERR_APP_NOT_INSTALLED');
      assert.match(job.error?.message ?? '', /app "testapp" is not installed/);
      assert.equal((await waitForStatus(suite.redis.client, suite.bench, 'default', ok, 'finished')).result, 'hello from otherapp');
    } finally {
      writeFileSync(sitePath, JSON.stringify({ custom_key: 'from-site' }));
    }
  });

  it('refuses at enqueue a method of an app not installed on the site', async () => {
    await assert.rejects(suite.client.enqueue('testapp.tasks.echo', { site: 'other.test' }), { code: 'ERR_APP_NOT_INSTALLED' });
  });

  it('fails a job whose module cannot be loaded with a message naming what is missing', async () => {
    const id = await suite.client.enqueue('testapp.tasks.echo', { site: SITE });
    // Rename the export away after enqueue: the worker must report it, not crash.
    const file = path.join(suite.bench.path, 'apps/testapp/testapp/tasks.ts');
    const original = readFileSync(file, 'utf8');
    writeFileSync(path.join(suite.bench.path, 'apps/testapp/testapp/gone.ts'), 'export const x = 1;\n');
    await suite.redis.client.hset(queueKeys(suite.bench.benchId, 'default').job(id), 'method', 'testapp.gone.missing');
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.equal(job.error?.code, 'ERR_JOB_LOAD');
    assert.match(job.error?.message ?? '', /has no export "missing"/);
    assert.equal(readFileSync(file, 'utf8'), original);
  });
});

describe('a worker process that dies under its job', () => {
  it('hands the job back; the job runs again and succeeds', async () => {
    const marker = path.join(os.tmpdir(), `bw-crash-once-${process.pid}-${Date.now()}`);
    const id = await suite.client.enqueue('testapp.tasks.crash', { site: SITE, kwargs: { once: marker } });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished');
    assert.equal(job.result, 'survived');
    assert.equal(job.attempts, 2);
    assert.equal(job.stalls, 1);
  });

  it('fails as abandoned once it took down its worker process more than job_crash_limit times, and runs its onFailure', async () => {
    const file = path.join(os.tmpdir(), `bw-abandoned-${process.pid}-${Date.now()}`);
    const id = await suite.client.enqueue('testapp.tasks.crash', { site: SITE, kwargs: { code: 7, file }, onFailure: 'testapp.tasks.note_failure' });
    await startSupervisor(suite.bench, { burst: true }).done;
    const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.equal(job.error?.name, 'AbandonedJobError');
    assert.match(job.error?.message ?? '', /abandoned: its worker process died \(exit code 7.*4 times \(limit 3\)/);
    assert.equal(job.attempts, 4);
    // The job never got to its own end, so a fresh child ran its onFailure with the stored error.
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { id, name: 'AbandonedJobError', code: 'ERR_JOB_CRASHED', message: job.error?.message });
  });
});
