// `bench create-rq-users` + `bench setup redis`: a real redis-server started from the generated config
// refuses anonymous clients, lets the bench enqueue, run, watch and stop jobs as its own ACL user
// (no command of the bench denied), and keeps that user away from other benches' keys, channels and
// the dangerous commands. The config update keeps the file's other keys; Redis refuses a config that
// defines users besides its aclfile, so `bench setup redis` never does.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { benchKeys, queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { runBench, spawnBench } from '../helpers/cli.ts';
import { waitForStatus } from '../helpers/jobs.ts';
import { freePort, startRedisWithConfig, type ConfiguredRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

let port: number;
let bench: TestBench;
let redis: ConfiguredRedis | undefined;
let adminPassword: string;
const clients: Redis[] = [];
const benches: TestBench[] = [];
const children: ChildProcess[] = [];

before(async () => {
  port = await freePort();
  bench = makeBench({ redisUrl: `redis://127.0.0.1:${port}`, common: { background_workers: 1, email_queue_batch_size: 500 } });
  benches.push(bench);
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  clients.forEach((c) => c.disconnect());
  await redis?.stop();
  benches.forEach((b) => b.remove());
});

function commonConfig(b: TestBench): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(b.path, 'sites', 'common_site_config.json'), 'utf8')) as Record<string, unknown>;
}

function connect(options: { username?: string; password?: string } = {}): Redis {
  const client = new Redis({ port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
  client.on('error', () => {});
  clients.push(client);
  return client;
}

/** The first reply line to `command` (inline syntax) from a fresh, unauthenticated connection. */
function anonymousReply(redisPort: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: redisPort });
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no reply to ${command}`)));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
      const end = data.indexOf('\r\n');
      if (end < 0) return;
      socket.destroy();
      resolve(data.slice(0, end));
    });
  });
}

function benchUser(): Redis {
  const config = commonConfig(bench);
  return connect({ username: config['rq_username'] as string, password: config['rq_password'] as string });
}

describe('bench create-rq-users', () => {
  it('writes the ACL file (hashed passwords, 0600) and sets rq_username, rq_password and use_rq_auth, keeping the other keys', async () => {
    const result = await runBench(['create-rq-users', '--set-admin-password', '--use-rq-auth'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    adminPassword = /^Redis admin password \(user default\), shown only now: (\S+)$/m.exec(result.stdout)?.[1] ?? '';
    assert.match(adminPassword, /^[0-9a-f]{64}$/, result.stdout);

    const config = commonConfig(bench);
    assert.equal(config['rq_username'], bench.benchId);
    assert.match(String(config['rq_password']), /^[0-9a-f]{64}$/);
    assert.equal(config['use_rq_auth'], true);
    assert.equal(config['redis_queue'], bench.redisUrl);
    assert.equal(config['bench_id'], bench.benchId);
    assert.equal(config['background_workers'], 1);
    assert.equal(config['email_queue_batch_size'], 500);
    assert.deepEqual(readdirSync(path.join(bench.path, 'sites')).sort(), ['common_site_config.json', 'site1.test'], 'no temporary file left');

    const aclFile = path.join(bench.path, 'config', 'redis_queue.acl');
    assert.equal(statSync(aclFile).mode & 0o777, 0o600);
    const acl = readFileSync(aclFile, 'utf8');
    const lines = acl.trim().split('\n');
    assert.equal(lines.length, 2, acl);
    assert.match(lines[0] ?? '', /^user default on resetpass #[0-9a-f]{64} ~\* &\* \+@all$/);
    assert.ok(lines[1]?.startsWith(`user ${bench.benchId} on resetpass #`), acl);
    assert.ok(!acl.includes(String(config['rq_password'])) && !acl.includes(adminPassword), 'passwords are stored hashed');
  });

  it('setup redis adds the aclfile line, and never a user or requirepass: Redis refuses a config with both', async () => {
    const result = await runBench(['setup', 'redis'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'no warning once the ACL file exists and use_rq_auth is on');
    const conf = readFileSync(path.join(bench.path, 'config', 'redis_queue.conf'), 'utf8');
    assert.ok(conf.split('\n').includes(`aclfile "${path.join(bench.path, 'config', 'redis_queue.acl')}"`), conf);
    assert.doesNotMatch(conf, /^\s*(user|requirepass)\b/m);
    const both = spawnSync('redis-server', [path.join(bench.path, 'config', 'redis_queue.conf'), '--port', String(await freePort()), '--user', 'extra', 'on', 'nopass'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(both.status, 1, `${both.stdout}${both.stderr}`);
    assert.match(`${both.stdout}${both.stderr}`, /users defined in redis\.conf and at the same setting an ACL file/);
  });

  it('a Redis from the generated config refuses anonymous clients; the bench enqueues, runs, watches and stops jobs as its user', { timeout: 60_000 }, async () => {
    redis = await startRedisWithConfig(path.join(bench.path, 'config', 'redis_queue.conf'), port);
    assert.match(await anonymousReply(port, 'PING'), /^-NOAUTH/);
    assert.match(await anonymousReply(port, 'GET x'), /^-NOAUTH/);
    const admin = connect({ password: adminPassword });
    await admin.connect();
    assert.equal(await admin.call('ACL', 'WHOAMI'), 'default');

    // Job events reach a subscriber of the bench's job events channel logged in as the bench user, who may
    // also use the realtime channel.
    const events: string[] = [];
    const subscriber = benchUser();
    subscriber.on('message', (_channel: string, text: string) => events.push(text));
    await subscriber.subscribe(benchKeys(bench.benchId).events, 'events');

    const enqueued = await runBench(['--site', 'site1.test', 'enqueue', 'testapp.tasks.add', '--kwargs', '{"a":1,"b":2}'], { cwd: bench.path });
    assert.equal(enqueued.code, 0, enqueued.stderr);
    const id = enqueued.stdout.trim();
    const burst = await runBench(['worker', '--burst'], { cwd: bench.path });
    assert.equal(burst.code, 0, burst.stderr);
    assert.equal((await waitForStatus(admin, bench, 'default', id, 'finished')).result, 3);
    await waitFor(() => events.some((e) => e.includes('"job_finished"') && e.includes(id)), { what: `job_finished of ${id} on the job events channel` });

    const doctor = await runBench(['doctor'], { cwd: bench.path });
    assert.equal(doctor.code, 0, doctor.stderr);

    // stop-job goes over the bench's control channel to the worker's supervisor.
    const slow = await runBench(['--site', 'site1.test', 'enqueue', 'testapp.tasks.sleep', '--kwargs', '{"ms":60000}'], { cwd: bench.path });
    assert.equal(slow.code, 0, slow.stderr);
    const slowId = slow.stdout.trim();
    const worker = spawnBench(['worker', '--queue', 'default'], { cwd: bench.path });
    children.push(worker);
    await waitForStatus(admin, bench, 'default', slowId, 'started', 30_000);
    const stop = await runBench(['--site', 'site1.test', 'stop-job', slowId], { cwd: bench.path });
    assert.equal(stop.code, 0, stop.stderr);
    await waitForStatus(admin, bench, 'default', slowId, 'stopped', 30_000);
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;

    const denied = ((await admin.call('ACL', 'LOG')) as unknown[][]).map((entry) => entry.map(String).join(' ')).filter((entry) => entry.includes(bench.benchId));
    assert.deepEqual(denied, [], 'no command of the bench was denied');
  });

  it('the bench user cannot touch other benches\' keys and channels, nor run dangerous commands', { timeout: 30_000 }, async () => {
    const user = benchUser();
    await user.connect();
    assert.equal(await user.zcard(benchKeys(bench.benchId).workers), 0);
    assert.equal(await user.llen(queueKeys(bench.benchId, 'default').wait), 0);
    assert.equal(await user.llen(queueKeys(bench.benchId, 'default').lane('site1.test')), 0, "its own sites' lanes");
    const others = [
      benchKeys('other-bench').workers,
      queueKeys('other-bench', 'default').wait,
      queueKeys('other-bench', 'default').lane('site1.test'),
      queueKeys('other-bench', 'default').queued,
      benchKeys(`${bench.benchId}x`).workers, // an id that starts with this one
      queueKeys(`${bench.benchId}x`, 'default').wait,
      'plain-key',
    ];
    for (const key of others) {
      await assert.rejects(user.set(key, '1'), /NOPERM/, key);
      await assert.rejects(user.get(key), /NOPERM/, key);
    }
    await assert.rejects(user.publish(benchKeys('other-bench').control, '{}'), /NOPERM/);
    await assert.rejects(user.call('KEYS', '*'), /NOPERM/);
    await assert.rejects(user.call('FLUSHALL'), /NOPERM/);
    await assert.rejects(user.call('CONFIG', 'SET', 'appendonly', 'no'), /NOPERM/);
    await assert.rejects(user.call('ACL', 'LIST'), /NOPERM/);

    // Another bench given this bench's credentials is refused on its own keys.
    const other = makeBench({ redisUrl: bench.redisUrl, common: { bench_id: 'other-bench', use_rq_auth: true, rq_username: bench.benchId, rq_password: commonConfig(bench)['rq_password'] } });
    benches.push(other);
    const result = await runBench(['--site', 'site1.test', 'enqueue', 'testapp.tasks.echo'], { cwd: other.path, timeoutMs: 20_000 });
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /NOPERM/);
  });

  it('without --set-admin-password the default user is off; without --use-rq-auth, use_rq_auth is left alone', { timeout: 30_000 }, async () => {
    // In a folder with a space, "%" and a quote: the aclfile line is quoted like the rest of redis.conf.
    const second = makeBench({ redisUrl: `redis://127.0.0.1:${await freePort()}`, folder: `bench 100%x 'q'` });
    benches.push(second);
    const result = await runBench(['create-rq-users'], { cwd: second.path });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /admin password/);
    assert.match(result.stdout, /use_rq_auth is off/);
    assert.equal(commonConfig(second)['use_rq_auth'], undefined);
    const acl = readFileSync(path.join(second.path, 'config', 'redis_queue.acl'), 'utf8');
    assert.match(acl.split('\n')[0] ?? '', /^user default off /);

    const setup = await runBench(['setup', 'redis'], { cwd: second.path });
    assert.match(setup.stderr, /warning: config\/redis_queue\.acl exists but use_rq_auth is off/);
    const port2 = Number(new URL(second.redisUrl).port);
    const conf = path.join(second.path, 'config', 'redis_queue.conf');
    let server = await startRedisWithConfig(conf, port2);
    try {
      assert.match(await anonymousReply(port2, 'PING'), /^-NOAUTH/);
      assert.match(await anonymousReply(port2, 'AUTH default anything'), /^-WRONGPASS/);
      const refused = await runBench(['doctor'], { cwd: second.path, timeoutMs: 20_000 });
      assert.equal(refused.code, 1, 'the warning was right: without use_rq_auth the bench is refused');
      assert.match(refused.stderr, /NOAUTH/);

      // New passwords take effect when Redis restarts (it reads the ACL file at start).
      const turnedOn = await runBench(['create-rq-users', '--use-rq-auth'], { cwd: second.path });
      assert.equal(turnedOn.code, 0, turnedOn.stderr);
      assert.equal(commonConfig(second)['use_rq_auth'], true);
      await server.stop();
      server = await startRedisWithConfig(conf, port2);
      const doctor = await runBench(['doctor'], { cwd: second.path, timeoutMs: 20_000 });
      assert.equal(doctor.code, 0, doctor.stderr);
    } finally {
      await server.stop();
    }
  });

  it('setup redis warns when use_rq_auth is on but there is no ACL file (that Redis would let anyone in)', async () => {
    const unguarded = makeBench({ redisUrl: 'redis://127.0.0.1:1', common: { use_rq_auth: true, rq_password: 'x' } });
    benches.push(unguarded);
    const result = await runBench(['setup', 'redis'], { cwd: unguarded.path });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^warning: use_rq_auth is on but config\/redis_queue\.acl does not exist/m);
    assert.doesNotMatch(readFileSync(path.join(unguarded.path, 'config', 'redis_queue.conf'), 'utf8'), /aclfile/);
  });

  it('refuses an rq_username that cannot name the bench user', async () => {
    const odd = makeBench({ redisUrl: 'redis://127.0.0.1:1', common: { rq_username: 'default' } });
    benches.push(odd);
    const result = await runBench(['create-rq-users'], { cwd: odd.path });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^Error \[ERR_CONFIG_INVALID\]: .*rq_username "default"/m);
  });
});
