// `bench setup` on a bench whose path holds a space, "%", "$", quotes and ";": the files it writes
// work with the real tools (redis-server, systemd-analyze verify, supervisord running the generated
// programs, the dashboard of dashboard_in_units among them), and the install commands it prints run in sh. A path that a file cannot hold (a newline
// would add a directive of its own) is refused with ERR_UNSAFE_PATH and nothing is written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BENCH_BIN } from '../../src/bench/worker-groups.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { runBench } from '../helpers/cli.ts';
import { waitForStatus } from '../helpers/jobs.ts';
import { freePort, startRedisWithConfig } from '../helpers/redis-server.ts';
import { startSupervisord, type TestSupervisord } from '../helpers/supervisord.ts';
import { execStartArgv, VERIFY_ERRORS, verifyUnits } from '../helpers/systemd.ts';
import { waitFor } from '../helpers/wait-for.ts';

// "%x" is no systemd specifier (an unescaped one fails verify); "$HOME" would be expanded by systemd;
// a space split --bench-path in two under supervisor and broke redis.conf's "dir".
const FOLDER = `my bench 100%x $HOME 'q' "d" a;b`;

let port: number;
let dashboardPort: number;
let bench: TestBench;
const cleanups: (() => unknown)[] = [];

before(async () => {
  port = await freePort();
  dashboardPort = await freePort();
  bench = makeBench({ redisUrl: `redis://127.0.0.1:${port}`, folder: FOLDER, common: { dashboard_in_units: true, dashboard_port: dashboardPort } });
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  bench.remove();
});

function read(file: string): string {
  return readFileSync(path.join(bench.path, file), 'utf8');
}

/** The value of `key=` in an INI/unit text (first occurrence after `section`'s header). */
function setting(text: string, section: string, key: string): string {
  const start = text.indexOf(`[${section}]`);
  assert.ok(start >= 0, `no [${section}]`);
  const line = text.slice(start).split('\n').find((l) => l.startsWith(`${key}=`));
  assert.ok(line, `no ${key}= in [${section}]`);
  return line.slice(key.length + 1);
}

/**
 * Run the `next: …` command the CLI printed in sh, with a `sudo` that only records its arguments
 * (one call per line, arguments NUL-separated): what the operator's shell would run.
 */
function runHint(stdout: string): string[][] {
  const hint = /^next: (.*)$/m.exec(stdout)?.[1];
  assert.ok(hint, stdout);
  const bin = mkdtempSync(path.join(os.tmpdir(), 'bw-fake-sudo-'));
  cleanups.push(() => rmSync(bin, { recursive: true, force: true }));
  const log = path.join(bin, 'calls');
  writeFileSync(path.join(bin, 'sudo'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done >> "$SUDO_LOG"\necho >> "$SUDO_LOG"\n`);
  chmodSync(path.join(bin, 'sudo'), 0o755);
  const run = spawnSync('sh', ['-c', hint], { env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, SUDO_LOG: log }, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => line.split('\0').slice(0, -1));
}

describe('bench setup on a path with a space, %, $, quotes and ;', () => {
  it('redis: the generated config starts redis-server with its dir and pidfile in the bench', { timeout: 30_000 }, async () => {
    const result = await runBench(['setup', 'redis'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    const redis = await startRedisWithConfig(path.join(bench.path, 'config/redis_queue.conf'), port);
    cleanups.push(() => redis.stop());
    const client = new Redis({ port, lazyConnect: true });
    try {
      await client.connect();
      assert.deepEqual(await client.config('GET', 'dir'), ['dir', path.join(bench.path, 'config', 'redis_queue_data')]);
      assert.deepEqual(await client.config('GET', 'pidfile'), ['pidfile', path.join(bench.path, 'config', 'pids', 'redis_queue.pid')]);
      await waitFor(() => existsSync(path.join(bench.path, 'config', 'pids', 'redis_queue.pid')), { what: 'the pidfile' });
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });

  it('systemd: systemd-analyze verify accepts the units; ExecStart runs the exact worker and dashboard argv', { timeout: 30_000 }, async () => {
    const result = await runBench(['setup', 'systemd'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    const dir = path.join(bench.path, 'config', 'systemd');
    const units = readdirSync(dir).map((f) => path.join(dir, f));
    const verify = verifyUnits(units);
    assert.equal(verify.code, 0, verify.output);
    assert.doesNotMatch(verify.output, VERIFY_ERRORS);

    const name = path.basename(bench.path).replace(/[^A-Za-z0-9_.-]/g, '-');
    const worker = read(`config/systemd/${name}-frappe-short-worker@.service`);
    assert.deepEqual(execStartArgv(setting(worker, 'Service', 'ExecStart')), [process.execPath, BENCH_BIN, '--bench-path', bench.path, 'worker', '--queue', 'short']);
    assert.equal(setting(worker, 'Service', 'WorkingDirectory').replace(/%%/g, '%'), bench.path);
    assert.equal(setting(worker, 'Service', 'StandardOutput').replace(/%%/g, '%'), `append:${path.join(bench.path, 'logs', 'worker.log')}`);
    const dashboard = read(`config/systemd/${name}-frappe-dashboard.service`);
    assert.deepEqual(execStartArgv(setting(dashboard, 'Service', 'ExecStart')), [process.execPath, BENCH_BIN, '--bench-path', bench.path, 'dashboard']);
    assert.equal(setting(dashboard, 'Service', 'StandardOutput').replace(/%%/g, '%'), `append:${path.join(bench.path, 'logs', 'dashboard.log')}`);
    const redisUnit = read(`config/systemd/${name}-redis-queue.service`);
    assert.deepEqual(execStartArgv(setting(redisUnit, 'Service', 'ExecStart')), ['/usr/bin/env', 'redis-server', path.join(bench.path, 'config', 'redis_queue.conf')]);

    const calls = runHint(result.stdout);
    assert.deepEqual(calls[0], ['ln', '-s', ...units.sort(), '/etc/systemd/system/']);
    assert.deepEqual(calls.slice(1), [['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', `${name}.target`]]);
  });

  it('supervisor: supervisord runs every generated program, the workers run jobs of this bench, the dashboard answers', { timeout: 90_000 }, async () => {
    const result = await runBench(['setup', 'supervisor'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    const conf = path.join(bench.path, 'config', 'supervisor.conf');
    const name = path.basename(bench.path).replace(/[^A-Za-z0-9_.-]/g, '-');
    assert.deepEqual(runHint(result.stdout), [['ln', '-s', conf, `/etc/supervisor/conf.d/${name}.conf`], ['supervisorctl', 'reread'], ['supervisorctl', 'update']]);

    const supervisord: TestSupervisord = await startSupervisord([conf]);
    cleanups.push(() => supervisord.stop());
    const programs = [
      `${name}-redis:${name}-redis-queue`,
      `${name}-workers:${name}-frappe-schedule`,
      `${name}-workers:${name}-frappe-dashboard`,
      `${name}-workers:${name}-frappe-short-worker-0`,
      `${name}-workers:${name}-frappe-long-worker-0`,
    ];
    await waitFor(
      () => {
        const status = supervisord.status();
        for (const program of programs) {
          if (/FATAL|BACKOFF|EXITED/.test(status.get(program) ?? '')) throw new Error(`${program} is ${status.get(program) ?? ''}: ${[...status].join(', ')}`);
        }
        return programs.every((program) => status.get(program) === 'RUNNING');
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `${programs.join(', ')} RUNNING under supervisord` },
    );
    const enqueued = await runBench(['--site', 'site1.test', 'enqueue', 'testapp.tasks.add', '--kwargs', '{"a":2,"b":3}'], { cwd: bench.path });
    assert.equal(enqueued.code, 0, enqueued.stderr);
    const client = new Redis({ port });
    try {
      assert.equal((await waitForStatus(client, bench, 'default', enqueued.stdout.trim(), 'finished', 30_000)).result, 5);
    } finally {
      client.disconnect();
    }
    const page = await waitFor(() => fetch(`http://127.0.0.1:${dashboardPort}/`), { what: 'the dashboard to answer on its dashboard_port' });
    assert.equal(page.status, 200);
    // The log paths (expanded twice by supervisor) are the bench's own.
    assert.match(read('logs/worker.log'), /worker started/);
    assert.match(read('logs/dashboard.log'), /dashboard listening/);
    await supervisord.stop();
  });
});

describe('bench setup refuses a path a generated file cannot hold', () => {
  const cases: { folder: string; refused: string[]; accepted: string[] }[] = [
    // A unit would get a directive of its own: ExecStartPre= runs a command as the service's user.
    { folder: 'bench\nExecStartPre=/bin/touch /tmp/bw-injected', refused: ['redis', 'supervisor', 'systemd'], accepted: [] },
    { folder: 'bench\u0001x', refused: ['redis', 'supervisor', 'systemd'], accepted: [] },
    { folder: 'bench\tx', refused: ['redis', 'supervisor', 'systemd'], accepted: [] },
    // " #" starts an inline comment in supervisor's INI (the directory= line would be cut short).
    { folder: 'bench #1', refused: ['supervisor'], accepted: ['redis', 'systemd'] },
    // A unit file line is stripped: WorkingDirectory= would lose the space.
    { folder: 'bench ', refused: ['systemd', 'supervisor'], accepted: ['redis'] },
  ];
  for (const { folder, refused, accepted } of cases) {
    it(`${JSON.stringify(folder)}: refused by setup ${refused.join(', ')}`, async () => {
      const odd = makeBench({ redisUrl: 'redis://127.0.0.1:1', folder });
      cleanups.push(() => odd.remove());
      for (const command of refused) {
        const result = await runBench(['--bench-path', odd.path, 'setup', command], { cwd: os.tmpdir() });
        assert.equal(result.code, 1, `setup ${command}: ${result.stdout}`);
        assert.match(result.stderr, /^Error \[ERR_UNSAFE_PATH\]: bench path ".*" (holds|ends)/m);
        assert.equal(existsSync(path.join(odd.path, 'config')), false, `setup ${command} wrote nothing`);
      }
      for (const command of accepted) {
        const result = await runBench(['--bench-path', odd.path, 'setup', command], { cwd: os.tmpdir() });
        assert.equal(result.code, 0, `setup ${command}: ${result.stderr}`);
      }
    });
  }
});
