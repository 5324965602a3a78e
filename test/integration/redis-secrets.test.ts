// No Redis credential reaches a log line, a CLI error (plain or --json) or `bench doctor`, whatever
// fails: a password rotated under a running worker (ioredis puts the failed HELLO ... AUTH user
// password on the error of every command it flushes), or a password in the redis_queue URL that
// Redis refuses or cannot check because it is down.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { loadBenchConfig } from '../../src/config/load.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { collectLogs, runBench, spawnBench } from '../helpers/cli.ts';
import { usePrivateRedis } from '../helpers/private-redis.ts';
import { freePort } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const server = usePrivateRedis();
const benchWith = (redisUrl: string, common: Record<string, unknown> = {}) => server.bench(common, redisUrl);

function assertNoSecret(text: string, secrets: readonly string[], where: string): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `${where} shows a password (${secret}):\n${text}`);
}

/** Change the password of ACL user `user` and drop its connections, as a rotation does. */
async function rotatePassword(user: string, newPassword: string): Promise<void> {
  await server.redis.client.acl('SETUSER', user, 'resetpass', `>${newPassword}`);
  await server.redis.client.call('CLIENT', 'KILL', 'USER', user);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

describe('a password rotated under a running worker', () => {
  it('the failures are logged with their fixed messages, the old and new passwords never', { timeout: 60_000 }, async () => {
    const [oldPassword, newPassword] = ['rot-old-7c1e9a', 'rot-new-52bd0f'];
    await server.redis.client.acl('SETUSER', 'rotuser', 'on', `>${oldPassword}`, '~*', '&*', '+@all');
    const bench = benchWith(server.redis.url, { use_rq_auth: true, rq_username: 'rotuser', rq_password: oldPassword, worker_lease_ttl: 3 });
    const worker = spawnBench(['worker'], { cwd: bench.path });
    const logs = collectLogs(worker);
    try {
      await waitFor(() => logs.lines.some((l) => l['msg'] === 'worker started'), { what: 'the worker to start', timeoutMs: 20_000 });
      await rotatePassword('rotuser', newPassword);
      const failed = await waitFor(() => logs.lines.find((l) => l['msg'] === 'periodic task failed'), { what: 'a periodic task to fail', timeoutMs: 20_000 });
      // A worker process's own connection fails its handshake too (logged with the error).
      await waitFor(() => logs.lines.some((l) => l['msg'] === 'redis connection lost, reconnecting' && l['err'] !== undefined), { what: 'a failed reconnect to be logged', timeoutMs: 20_000 });
      const err = failed['err'] as { message: string; command?: { name: string; args: unknown[] } };
      assert.match(err.message, /WRONGPASS/, 'the failure says why');
      assert.equal(err.command?.name, 'hello', 'and which command failed');
      assertNoSecret(logs.text(), [oldPassword, newPassword], 'the worker log');
    } finally {
      await stopProcess(worker);
    }
    assertNoSecret(logs.text(), [oldPassword, newPassword], 'the worker log, shutdown included');
  });

  it('the errors a client rejects with carry no password, whatever logger shows them', { timeout: 30_000 }, async () => {
    const [oldPassword, newPassword] = ['lib-old-0b7d21', 'lib-new-e4a913'];
    await server.redis.client.acl('SETUSER', 'libuser', 'on', `>${oldPassword}`, '~*', '&*', '+@all');
    const bench = benchWith(server.redis.url, { use_rq_auth: true, rq_username: 'libuser', rq_password: oldPassword });
    // An application's own pino, without bench-worker's serializers.
    const lines: string[] = [];
    const log = pino({}, { write: (line: string) => void lines.push(line) });
    const client = await createRedis(loadBenchConfig(bench.path).settings, { role: 'worker', log });
    try {
      await rotatePassword('libuser', newPassword);
      // A command sent before the drop is noticed waits for the next good connection; one sent after
      // is failed by each refused handshake.
      await waitFor(() => client.status !== 'ready', { what: 'the client to notice the drop' });
      const err = (await client.get('any').then(
        () => assert.fail('the command succeeded after the rotation'),
        (e: unknown) => e,
      )) as Error & { command?: { name: string; args: unknown[] } };
      assert.match(err.message, /WRONGPASS/);
      assert.deepEqual(err.command, { name: 'hello', args: ['3', 'AUTH', 'libuser', '***'] });
      await waitFor(() => lines.some((l) => l.includes('redis connection lost')), { what: 'the outage to be logged' });
      assertNoSecret(lines.join(''), [oldPassword, newPassword], "the application's log");
    } finally {
      client.disconnect();
    }
  });
});

describe('a password in the redis_queue URL', () => {
  // '@' and '/' make it percent-encoded in the URL: neither form may show.
  const password = 'p@ss/url-9d2c';
  const encoded = encodeURIComponent(password);
  const secrets = [password, encoded, 'url-9d2c'];
  const commands: { args: string[]; json: boolean }[] = [
    { args: ['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo'], json: false },
    { args: ['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo', '--json'], json: true },
    { args: ['doctor'], json: false },
    { args: ['doctor', '--json'], json: true },
    { args: ['worker', '--burst'], json: false },
  ];

  const cases: { name: string; port: () => Promise<number>; reason: RegExp }[] = [
    {
      name: 'Redis refuses it',
      port: async () => {
        await server.redis.client.acl('SETUSER', 'urluser', 'on', '>another-password', '~*', '&*', '+@all');
        return server.redis.port;
      },
      reason: /WRONGPASS/,
    },
    { name: 'Redis is down', port: () => freePort(), reason: /ECONNREFUSED|Connection is closed|no answer/ },
  ];

  for (const c of cases) {
    it(`never shows in logs, CLI errors (plain and --json) or doctor when ${c.name}`, { timeout: 120_000 }, async () => {
      const port = await c.port();
      const bench = benchWith(`redis://urluser:${encoded}@127.0.0.1:${port}`);
      for (const { args, json } of commands) {
        const result = await runBench(args, { cwd: bench.path, timeoutMs: 40_000 });
        const what = `bench ${args.join(' ')}`;
        assert.equal(result.code, 1, `${what}: ${result.stderr}`);
        assertNoSecret(result.stdout + result.stderr, secrets, what);
        if (json) {
          const { error } = JSON.parse(result.stderr) as { error: { code: string; message: string; redis_queue: string } };
          assert.equal(error.code, 'ERR_REDIS_UNAVAILABLE', what);
          assert.equal(error.redis_queue, `redis://urluser:***@127.0.0.1:${port}`, what);
          assert.match(error.message, c.reason, what);
        } else {
          assert.match(result.stderr, /Error \[ERR_REDIS_UNAVAILABLE\]: Redis queue is unreachable at redis:\/\/urluser:\*\*\*@127\.0\.0\.1/, what);
          assert.match(result.stderr, c.reason, what);
        }
      }
    });
  }
});
