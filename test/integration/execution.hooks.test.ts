// before_job / after_job hooks declared in an installed app's hooks module, and onSuccess /
// onFailure callbacks, run by the job child around each job (test app: dbapp, whose hooks write
// JSON lines to the file named by the site config key dbapp_hooks_file).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { queueKeys } from '../../src/redis/keys.ts';
import { openSqlite } from '../helpers/databases.ts';
import { drained, startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { useBenchSuite } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { benchKeys } from '../../src/redis/keys.ts';

const HOOKS = 'hooks.test';
const FAILING_HOOK = 'failhook.test';
const NOT_INSTALLED = 'nodbapp.test';
const hookFile = tempFile('hooks');

function tempFile(name: string): string {
  return path.join(os.tmpdir(), `bw-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
}

function jsonLines(file: string): Record<string, unknown>[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
}

const hookCalls = (jobId: string) => jsonLines(hookFile).filter((l) => l['jobId'] === jobId);

function hookRows(): string[] {
  const db = openSqlite(suite.bench, HOOKS);
  try {
    return (db.prepare('SELECT value FROM hook_rows ORDER BY id').all() as { value: string }[]).map((r) => r.value);
  } finally {
    db.close();
  }
}

const suite = useBenchSuite({
  sites: {
    [HOOKS]: { dbapp_hooks_file: hookFile, dbapp_hooks_table: 'hook_rows' },
    [FAILING_HOOK]: { dbapp_hooks_file: hookFile, dbapp_hooks_fail: true },
    [NOT_INSTALLED]: { installed_apps: ['testapp'], dbapp_hooks_file: hookFile },
  },
  linkPackage: true,
  prepare: (bench) => {
    const db = openSqlite(bench, HOOKS);
    db.exec('CREATE TABLE hook_rows (id INTEGER PRIMARY KEY AUTOINCREMENT, value TEXT NOT NULL)');
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, value TEXT NOT NULL)');
    db.close();
  },
});

describe('before_job / after_job hooks', () => {
  it('calls before_job with { method, kwargs } inside the job transaction and after_job with the result', async () => {
    const id = await suite.client.enqueue('dbapp.tasks.insert_row', { site: HOOKS, kwargs: { table: 'items', value: 'hooked' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished');
    const kwargs = { table: 'items', value: 'hooked' };
    assert.deepEqual(hookCalls(id), [
      { hook: 'before', method: 'dbapp.tasks.insert_row', kwargs, jobId: id, retry: 0 },
      { hook: 'after', method: 'dbapp.tasks.insert_row', kwargs, result: 1, jobId: id },
    ]);
    assert.ok(hookRows().includes(`before ${id}`), 'the before_job hook wrote through ctx.db and it was committed');
  });

  it('rolls back what before_job wrote when the job fails; after_job gets no result', async () => {
    const id = await suite.client.enqueue('dbapp.tasks.insert_then_fail', { site: HOOKS, kwargs: { table: 'items', value: 'bad' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.deepEqual(hookCalls(id).map((c) => [c['hook'], c['result'] ?? null]), [['before', null], ['after', null]]);
    assert.ok(!hookRows().includes(`before ${id}`));
  });

  it('runs before_job again on each retry of the job function', async () => {
    const file = tempFile('hook-retry');
    const id = await suite.client.enqueue('dbapp.tasks.retry_job', { site: HOOKS, kwargs: { file, table: 'items', succeedAfter: 2 } });
    await startSupervisor(suite.bench, { burst: true }).done;
    await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished', 20_000);
    assert.deepEqual(hookCalls(id).map((c) => `${String(c['hook'])}${c['hook'] === 'before' ? String(c['retry']) : ''}`), ['before0', 'before1', 'after']);
  });

  it('keeps the job outcome when an after_job hook throws', async () => {
    const id = await suite.client.enqueue('dbapp.tasks.outcome', { site: FAILING_HOOK, kwargs: { value: 'fine' } });
    await startSupervisor(suite.bench, { burst: true }).done;
    assert.equal((await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished')).result, 'fine');
    assert.deepEqual(hookCalls(id).map((c) => c['hook']), ['before', 'after']);
  });

  it('does not call the hooks of an app the site does not have installed', async () => {
    const id = await suite.client.enqueue('testapp.tasks.echo', { site: NOT_INSTALLED, kwargs: {} });
    await startSupervisor(suite.bench, { burst: true }).done;
    await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished');
    assert.deepEqual(hookCalls(id), []);
  });
});

describe('onSuccess / onFailure callbacks', () => {
  it('calls onSuccess with the job and its result', async () => {
    const file = tempFile('cb-ok');
    const id = await suite.client.enqueue('dbapp.tasks.outcome', {
      site: HOOKS,
      kwargs: { file, value: { n: 7 } },
      onSuccess: 'dbapp.callbacks.on_success',
      onFailure: 'dbapp.callbacks.on_failure',
    });
    await startSupervisor(suite.bench, { burst: true }).done;
    await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished');
    assert.deepEqual(jsonLines(file), [{ kind: 'success', id, method: 'dbapp.tasks.outcome', result: { n: 7 }, site: HOOKS }]);
  });

  it('calls onFailure with the job and its error', async () => {
    const file = tempFile('cb-fail');
    const id = await suite.client.enqueue('dbapp.tasks.outcome', {
      site: HOOKS,
      kwargs: { file, fail: true },
      onSuccess: 'dbapp.callbacks.on_success',
      onFailure: 'dbapp.callbacks.on_failure',
    });
    await startSupervisor(suite.bench, { burst: true }).done;
    await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
    assert.deepEqual(jsonLines(file), [{ kind: 'failure', id, method: 'dbapp.tasks.outcome', message: 'outcome: failing on purpose', site: HOOKS }]);
  });

  it('runs the end of a job killed past its timeout (Error Log row, after_job hook, onFailure) on a fresh child', { timeout: 40_000 }, async () => {
    const file = tempFile('cb-killed');
    // spin blocks its event loop: the AbortSignal cannot reach it, so its child is killed after the grace.
    const id = await suite.client.enqueue('testapp.tasks.spin', { site: HOOKS, timeout: 1, kwargs: { file }, onFailure: 'dbapp.callbacks.on_failure' });
    const events = await suite.redis.client.duplicate();
    const failedEvents: Record<string, unknown>[] = [];
    events.on('message', (_channel: string, text: string) => {
      const envelope = JSON.parse(text) as { event: string; message: Record<string, unknown> };
      if (envelope.event === 'job_failed') failedEvents.push(envelope.message);
    });
    await events.subscribe(benchKeys(suite.bench.benchId).events);
    try {
      await drained(startSupervisor(suite.bench, { burst: true }));
      const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
      assert.equal(job.error?.code, 'ERR_JOB_TIMEOUT');
      assert.deepEqual(jsonLines(file), [{ kind: 'failure', id, method: 'testapp.tasks.spin', message: 'job exceeded its timeout of 1 s and was stopped', site: HOOKS }]);
      assert.deepEqual(hookCalls(id).map((c) => c['hook']), ['before', 'after']);
      const db = openSqlite(suite.bench, HOOKS);
      try {
        const rows = db.prepare('SELECT method FROM error_log WHERE job_id = ?').all(id) as { method: string }[];
        assert.deepEqual(rows, [{ method: 'testapp.tasks.spin' }]);
      } finally {
        db.close();
      }
      await waitFor(() => failedEvents.some((m) => m['job_id'] === id), { what: 'the job_failed event' });
      assert.equal((failedEvents.find((m) => m['job_id'] === id)?.['error'] as { code?: string }).code, 'ERR_JOB_TIMEOUT');
    } finally {
      events.disconnect();
    }
  });

  it('keeps the outcome when a callback throws or cannot be loaded', async () => {
    const file = tempFile('cb-throw');
    const ok = await suite.client.enqueue('dbapp.tasks.outcome', { site: HOOKS, kwargs: { file, value: 'still fine' }, onSuccess: 'dbapp.callbacks.throwing' });
    const bad = await suite.client.enqueue('dbapp.tasks.outcome', { site: HOOKS, kwargs: { file, fail: true }, onFailure: 'dbapp.callbacks.on_failure' });
    await suite.redis.client.hset(queueKeys(suite.bench.benchId, 'default').job(bad), 'onFailure', 'dbapp.callbacks.vanished');
    await startSupervisor(suite.bench, { burst: true }).done;
    assert.equal((await waitForStatus(suite.redis.client, suite.bench, 'default', ok, 'finished')).result, 'still fine');
    assert.equal((await waitForStatus(suite.redis.client, suite.bench, 'default', bad, 'failed')).error?.message, 'outcome: failing on purpose');
    assert.deepEqual(jsonLines(file), [{ kind: 'throwing', id: ok }]);
  });
});
