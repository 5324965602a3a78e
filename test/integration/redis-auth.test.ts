// Redis credentials: use_rq_auth with rq_username / rq_password (Frappe's keys) lets enqueue and the
// worker in; wrong or missing credentials end the command with a clear error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { useAuthRedis } from '../helpers/auth-redis.ts';
import { runBench } from '../helpers/cli.ts';
import { waitForStatus } from '../helpers/jobs.ts';

const auth = useAuthRedis({ name: 'benchuser', password: 's3cret' }, 'adminpw');
const benchWith = (common: Record<string, unknown>) => auth.benchWith(common);

describe('Redis authentication', () => {
  it('enqueues and runs jobs with use_rq_auth, rq_username and rq_password', { timeout: 30_000 }, async () => {
    const bench = benchWith({ use_rq_auth: true, rq_username: 'benchuser', rq_password: 's3cret' });
    const client = await BenchClient.open({ benchPath: bench.path });
    const id = await client.enqueue('testapp.tasks.add', { site: 'site1.test', kwargs: { a: 1, b: 2 } });
    await client.close();
    const result = await runBench(['worker', '--burst'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await waitForStatus(auth.admin, bench, 'default', id, 'finished')).result, 3);
  });

  it('takes a password from the redis_queue URL', async () => {
    const bench = auth.benchWith({}, `redis://benchuser:s3cret@127.0.0.1:${auth.redis.port}`);
    const result = await runBench(['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^site1\.test\|\|/);
  });

  it('a wrong password ends enqueue with a clear error and exit 1', async () => {
    const bench = benchWith({ use_rq_auth: true, rq_username: 'benchuser', rq_password: 'wrong' });
    const result = await runBench(['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo'], { cwd: bench.path, timeoutMs: 20_000 });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ERR_REDIS_UNAVAILABLE.*(WRONGPASS|invalid username-password)/);
    assert.doesNotMatch(result.stderr, /wrong/, 'the password is not printed');
  });

  it('missing credentials end the worker with a clear error and exit 1', async () => {
    const bench = benchWith({});
    const result = await runBench(['worker', '--burst'], { cwd: bench.path, timeoutMs: 20_000 });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ERR_REDIS_UNAVAILABLE.*NOAUTH/);
  });
});
