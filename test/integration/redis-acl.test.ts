// Restricted Redis ACL users: a command the user may not run (NOPERM) ends a CLI command with the
// coded error ERR_REDIS_NOPERM naming the command and the user, exit 1 and no stack; a user without
// +info gets no ioredis "Skipping the ready check" warning; and a connection made while Redis loads
// its dataset is ready only once it is loaded (ioredis' ready check, kept).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadBenchConfig } from '../../src/config/load.ts';
import { createRedis } from '../../src/redis/connection.ts';
import type { TestBench } from '../helpers/bench.ts';
import { runBench } from '../helpers/cli.ts';
import { waitForStatus } from '../helpers/jobs.ts';
import { usePrivateRedis } from '../helpers/private-redis.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const server = usePrivateRedis();

/** A bench logging in as a new ACL user with `rules` (on top of on, its password, ~* and &*). */
async function benchAsUser(user: string, password: string, rules: readonly string[], db = 0): Promise<TestBench> {
  await server.redis.client.acl('SETUSER', user, 'reset', 'on', `>${password}`, '~*', '&*', ...rules);
  return server.bench({ use_rq_auth: true, rq_username: user, rq_password: password }, `${server.redis.url}/${db}`);
}

const STACK_LINE = /\n\s+at /;

describe('a command the ACL user may not run (NOPERM)', () => {
  // ioredis runs a script with EVAL or EVALSHA, depending on what it knows the server holds.
  const cases: { name: string; rules: string[]; args: string[]; command: RegExp; says: RegExp; db?: number }[] = [
    {
      name: 'enqueue, EVALSHA refused',
      rules: ['+@all', '-evalsha', '-eval'],
      args: ['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo'],
      command: /^eval(sha)?$/,
      says: /Redis refused EVAL(SHA)? to ACL user "\w+": NOPERM/,
    },
    {
      name: 'enqueue, a command inside the script refused',
      rules: ['+@all', '-rpush'],
      args: ['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo'],
      command: /^eval(sha)?$/,
      says: /Redis refused (a command run by the EVAL(SHA)? script|RPUSH \(run by the EVAL(SHA)? script\)) to ACL user "\w+": /,
    },
    {
      name: 'doctor, LLEN refused',
      rules: ['+@all', '-llen'],
      args: ['doctor'],
      command: /^llen$/,
      says: /Redis refused LLEN to ACL user "\w+": NOPERM/,
    },
    {
      name: 'enqueue, the keys refused',
      rules: ['+@all', 'resetkeys', '~other:*'],
      args: ['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo'],
      command: /^eval(sha)?$/,
      says: /Redis refused the keys \(or channels\) of EVAL(SHA)? to ACL user "\w+": NOPERM/,
    },
    {
      // ioredis would carry on, on db 0, after a refused SELECT: the jobs would land in the wrong db.
      name: 'enqueue to db 5, SELECT refused',
      rules: ['+@all', '-select'],
      args: ['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo'],
      command: /^select$/,
      says: /Redis refused SELECT to ACL user "\w+": NOPERM/,
      db: 5,
    },
  ];

  cases.forEach((c, i) => {
    it(`${c.name}: ERR_REDIS_NOPERM naming command and user, exit 1, no stack, no password`, { timeout: 60_000 }, async () => {
      const [user, password] = [`limited${i}`, `acl-pw-${i}-83fd`];
      const bench = await benchAsUser(user, password, c.rules, c.db);
      const keysBefore = await server.redis.client.dbsize();
      const plain = await runBench(c.args, { cwd: bench.path, timeoutMs: 30_000 });
      assert.equal(plain.code, 1, plain.stderr);
      assert.match(plain.stderr, /^Error \[ERR_REDIS_NOPERM\]: /, plain.stderr);
      assert.match(plain.stderr, c.says);
      assert.ok(plain.stderr.includes(`"${user}"`), plain.stderr);
      assert.match(plain.stderr, /NOPERM|can't/, 'the reason Redis gave is kept');
      assert.doesNotMatch(plain.stderr, STACK_LINE, 'a coded error, not a stack');
      const json = await runBench([...c.args, '--json'], { cwd: bench.path, timeoutMs: 30_000 });
      assert.equal(json.code, 1, json.stderr);
      const { error } = JSON.parse(json.stderr) as { error: { code: string; user: string; command: string; sentCommand?: string } };
      assert.equal(error.code, 'ERR_REDIS_NOPERM');
      assert.equal(error.user, user);
      assert.match(error.sentCommand ?? error.command, c.command);
      for (const output of [plain.stdout, plain.stderr, json.stdout, json.stderr]) assert.ok(!output.includes(password), output);
      if (c.db !== undefined) assert.equal(await server.redis.client.dbsize(), keysBefore, 'nothing was written to db 0');
    });
  });
});

describe('an ACL user without +info', () => {
  it('enqueues and runs jobs without ioredis\' "Skipping the ready check" warning', { timeout: 60_000 }, async () => {
    const bench = await benchAsUser('noinfo', 'noinfo-pw', ['+@all', '-info']);
    const enqueued = await runBench(['--site', 'site1.test', 'enqueue', 'testapp.tasks.add', '--kwargs', '{"a":2,"b":3}'], { cwd: bench.path, timeoutMs: 30_000 });
    assert.equal(enqueued.code, 0, enqueued.stderr);
    const worked = await runBench(['worker', '--burst'], { cwd: bench.path, timeoutMs: 30_000 });
    assert.equal(worked.code, 0, worked.stderr);
    for (const output of [enqueued.stderr, worked.stderr, worked.stdout]) assert.doesNotMatch(output, /ready check/i);
    const id = enqueued.stdout.trim();
    assert.equal((await waitForStatus(server.redis.client, bench, 'default', id, 'finished')).result, 5);
  });
});

describe('a connection made while Redis loads its dataset', () => {
  it('is ready once the dataset is loaded, at first connect and after a reconnect', { timeout: 90_000 }, async () => {
    // 100 µs per key: loading 20,000 keys takes a few seconds, during which Redis answers LOADING.
    const loading = await startRedis({ extraArgs: ['--key-load-delay', '100', '--loading-process-events-interval-bytes', '1024'] });
    const bench = server.bench({}, loading.url);
    const probe = new Redis({ port: loading.port, enableReadyCheck: false, lazyConnect: true, maxRetriesPerRequest: null });
    probe.on('error', () => {});
    const isLoading = async () => /^loading:1/m.test(await probe.info('persistence'));
    try {
      await loading.client.eval("for i = 1, 20000 do redis.call('SET', 'k' .. i, 'v') end return 1", 0);
      await loading.client.save();
      await loading.restart({ kill: true });
      assert.ok(await isLoading(), 'the server is loading (else this test proves nothing)');
      const client = await createRedis(loadBenchConfig(bench.path).settings, { role: 'worker', connectTimeoutMs: 60_000 });
      try {
        assert.equal(await client.get('k20000'), 'v', 'the first command after connecting is answered');
        await loading.restart({ kill: true });
        assert.ok(await isLoading());
        await waitFor(() => client.status !== 'ready', { what: 'the client to notice the restart' });
        assert.equal(await client.get('k1'), 'v', 'a command after a reconnect waits for the loading too');
      } finally {
        client.disconnect();
      }
    } finally {
      probe.disconnect();
      await loading.stop();
    }
  });
});
