// Redis auth as Frappe does it, through the real `bench` binary: use_rq_auth written as 1 (Frappe's
// configs) logs in; `bench worker -u / -p` logs the supervisor and its worker processes in as that user
// while the password appears in no command line (/proc/<pid>/cmdline of the supervisor and of every
// worker process) and no log line; RQ_ADMIN_PASWORD (Frappe's spelling) is the default user's password.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { useAuthRedis } from '../helpers/auth-redis.ts';
import { collectLogs, runBench, spawnBench } from '../helpers/cli.ts';
import { waitForStatus } from '../helpers/jobs.ts';
import { exitOf } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SECRET = 'pw-Zq8vT3kLm9';
const ADMIN_SECRET = 'admin-Hy4nR7wQ2';

const auth = useAuthRedis({ name: 'cliuser', password: SECRET }, ADMIN_SECRET);
const benchWith = (common: Record<string, unknown>) => auth.benchWith(common);

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
}

describe('Redis auth as Frappe does it', () => {
  it('use_rq_auth: 1 (as Frappe writes it) logs in as rq_username; 0 does not', { timeout: 30_000 }, async () => {
    const on = benchWith({ use_rq_auth: 1, rq_username: 'cliuser', rq_password: SECRET });
    const ok = await runBench(['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo'], { cwd: on.path });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^site1\.test\|\|/);
    const off = benchWith({ use_rq_auth: 0, rq_username: 'cliuser', rq_password: SECRET });
    const refused = await runBench(['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo'], { cwd: off.path, timeoutMs: 20_000 });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /NOAUTH/);
    const bad = benchWith({ use_rq_auth: 2 });
    const invalid = await runBench(['doctor'], { cwd: bad.path });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /ERR_CONFIG_INVALID.*key "use_rq_auth": expected true, false, 1 or 0, found 2/);
  });

  it('worker -u/-p logs in as that user; the password is in no command line of its processes and no log line', { timeout: 40_000 }, async () => {
    const bench = benchWith({});
    const client = await BenchClient.open({ benchPath: bench.path, lazyConnect: true });
    const enqueue = await runBench(['--site', 'site1.test', 'enqueue', 'testapp.tasks.add', '--kwargs', '{"a":2,"b":3}'], { cwd: bench.path, env: { RQ_ADMIN_PASWORD: ADMIN_SECRET } });
    assert.equal(enqueue.code, 0, enqueue.stderr);
    const id = enqueue.stdout.trim();
    await client.close();
    const worker = spawnBench(['worker', '--num-workers', '2', '-u', 'cliuser', '-p', SECRET], { cwd: bench.path });
    const logs = collectLogs(worker);
    try {
      const started = await waitFor(() => logs.lines.find((l) => l['msg'] === 'worker started'), { timeoutMs: 20_000, what: 'worker started' });
      const pids = started['workerPids'] as number[];
      assert.equal(pids.length, 2);
      assert.equal((await waitForStatus(auth.admin, bench, 'default', id, 'finished')).result, 5, 'the worker processes logged in with -u/-p');
      for (const pid of [worker.pid as number, ...pids]) {
        const line = cmdline(pid);
        assert.ok(!line.includes(SECRET), `the password shows in /proc/${pid}/cmdline: ${line}`);
      }
      assert.match(cmdline(worker.pid as number), /worker .*-p \*\*\*/, 'the supervisor shows its command line with the password masked');
    } finally {
      worker.kill('SIGTERM');
      await exitOf(worker, 20_000);
    }
    assert.ok(logs.lines.length > 0);
    assert.ok(!logs.text().includes(SECRET), 'the password is in no log line');
    // Without -u/-p (and no use_rq_auth, no RQ_ADMIN_PASWORD) the same worker is refused: the flags did the login.
    const refused = await runBench(['worker', '--burst'], { cwd: bench.path, timeoutMs: 20_000, env: { RQ_ADMIN_PASWORD: '' } });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /NOAUTH/);
  });

  it('RQ_ADMIN_PASWORD is the password of the default user when use_rq_auth is off', { timeout: 30_000 }, async () => {
    const bench = benchWith({});
    const withEnv = await runBench(['doctor', '--json'], { cwd: bench.path, env: { RQ_ADMIN_PASWORD: ADMIN_SECRET } });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    assert.equal((JSON.parse(withEnv.stdout) as { workersOnline: number }).workersOnline, 0);
    const wrong = await runBench(['doctor'], { cwd: bench.path, env: { RQ_ADMIN_PASWORD: 'not-it' }, timeoutMs: 20_000 });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /WRONGPASS|invalid username-password/);
    assert.ok(!wrong.stderr.includes('not-it'), 'the password is not printed');
    const none = await runBench(['doctor'], { cwd: bench.path, env: { RQ_ADMIN_PASWORD: '' }, timeoutMs: 20_000 });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /NOAUTH/);
  });
});
