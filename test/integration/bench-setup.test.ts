// `bench setup redis | supervisor | systemd`: the files are written under config/, shaped as Frappe's,
// with absolute paths; the Redis config really starts a durable Redis, and the worker command in
// the units really runs. With dashboard_in_units, a dashboard program / unit joins the scheduler's
// group / target; turned off again, it goes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BENCH_BIN } from '../../src/bench/worker-groups.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { runBench } from '../helpers/cli.ts';
import { freePort } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

let bench: TestBench;
let port: number;
let name: string;

const COMMON = { background_workers: 2, workers: { email_queue: { timeout: 600, background_workers: 3 } } };

before(async () => {
  port = await freePort();
  bench = makeBench({ redisUrl: `redis://127.0.0.1:${port}`, common: COMMON });
  name = path.basename(bench.path);
});

after(() => bench.remove());

function read(file: string): string {
  return readFileSync(path.join(bench.path, file), 'utf8');
}

/** supervisor.conf sections as { "program:x": { key: value } }. */
function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = {};
      out[header[1] as string] = section;
    } else if (section && /^[a-z_]+=/.test(line)) {
      const at = line.indexOf('=');
      section[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return out;
}

describe('bench setup', () => {
  it('redis: writes config/redis_queue.conf that starts a Redis with AOF on and noeviction', { timeout: 30_000 }, async () => {
    const result = await runBench(['setup', 'redis'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    const conf = read('config/redis_queue.conf');
    assert.match(conf, new RegExp(`^port ${port}$`, 'm'));
    assert.match(conf, /^appendonly yes$/m);
    assert.match(conf, /^maxmemory-policy noeviction$/m);
    assert.ok(conf.split('\n').includes(`dir "${path.join(bench.path, 'config', 'redis_queue_data')}"`), conf);
    const server = spawn('redis-server', [path.join(bench.path, 'config/redis_queue.conf'), '--daemonize', 'no'], { stdio: 'ignore' });
    // Reconnects every 50 ms until the server is up. (Calling connect() again while ioredis retries in the
    // background rejects with "already connecting", so a connect() poll could never see it come up.)
    const client = new Redis({ port, retryStrategy: () => 50 });
    client.on('error', () => {}); // refused until the server listens
    try {
      await waitFor(() => client.status === 'ready', { what: 'redis from the generated config' });
      const cfg = (await client.config('GET', 'appendonly')) as string[];
      assert.equal(cfg[1], 'yes');
      assert.equal(((await client.config('GET', 'maxmemory-policy')) as string[])[1], 'noeviction');
    } finally {
      client.disconnect();
      server.kill('SIGKILL');
    }
  });

  it('supervisor: a short and a long worker, one per custom queue, stopped and killed as a group', async () => {
    const result = await runBench(['setup', 'supervisor'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    const ini = parseIni(read('config/supervisor.conf'));
    const short = ini[`program:${name}-frappe-short-worker`];
    const long = ini[`program:${name}-frappe-long-worker`];
    const email = ini[`program:${name}-frappe-email_queue-worker`];
    assert.ok(short && long && email, Object.keys(ini).join(', '));
    assert.match(short['command'] ?? '', / worker --queue short,default$/);
    assert.match(long['command'] ?? '', / worker --queue long,default,short$/);
    assert.match(email['command'] ?? '', / worker --queue email_queue$/);
    assert.equal(short['stopwaitsecs'], '360');
    assert.equal(long['stopwaitsecs'], '1560');
    assert.equal(email['stopwaitsecs'], '660');
    assert.equal(short['numprocs'], '2');
    assert.equal(email['numprocs'], '3');
    for (const program of [short, long, email]) {
      assert.equal(program['killasgroup'], 'true');
      assert.equal(program['stopasgroup'], 'true');
      assert.equal(program['stopsignal'], 'TERM');
      assert.equal(program['directory'], bench.path);
      assert.ok(path.isAbsolute((program['command'] ?? '').split(' ')[0] as string), 'absolute node path');
    }
    assert.match(ini[`group:${name}-workers`]?.['programs'] ?? '', /short-worker.*long-worker.*email_queue-worker/);
    assert.ok(ini[`program:${name}-redis-queue`]);
    const schedule = ini[`program:${name}-frappe-schedule`];
    assert.match(schedule?.['command'] ?? '', / schedule$/, 'one scheduler, as Frappe has');
    assert.equal(schedule?.['numprocs'] ?? '1', '1');
    assert.equal(schedule?.['killasgroup'], 'true');
  });

  it('supervisor: the generated worker command really runs', { timeout: 30_000 }, async () => {
    const command = parseIni(read('config/supervisor.conf'))[`program:${name}-frappe-short-worker`]?.['command'] ?? '';
    const [exe, ...args] = command.split(' ');
    // Nothing listens on the bench's port: the worker must start, then fail clearly on Redis.
    const run = spawnSync(exe as string, args, { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /ERR_REDIS_UNAVAILABLE/);
  });

  it("systemd: frappe-bench's unit names, a single-queue worker per built-in queue, the custom queue's marked as an addition", async () => {
    const result = await runBench(['setup', 'systemd'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    const dir = 'config/systemd';
    assert.deepEqual(readdirSync(path.join(bench.path, dir)).sort(), [
      `${name}-frappe-default-worker@.service`,
      `${name}-frappe-email_queue-worker@.service`,
      `${name}-frappe-long-worker@.service`,
      `${name}-frappe-schedule.service`,
      `${name}-frappe-short-worker@.service`,
      `${name}-redis-queue.service`,
      `${name}-redis.target`,
      `${name}-workers.target`,
      `${name}.target`,
    ]);
    const queues = { default: 360, short: 360, long: 1560, email_queue: 660 };
    for (const [queue, stopWait] of Object.entries(queues)) {
      const unit = read(`${dir}/${name}-frappe-${queue}-worker@.service`);
      assert.match(unit, new RegExp(`^ExecStart=/\\S+ \\S+bench\\.js --bench-path \\S+ worker --queue ${queue}$`, 'm'));
      assert.match(unit, new RegExp(`^TimeoutStopSec=${stopWait}$`, 'm'), `${queue}: its timeout + 60 s`);
      assert.match(unit, /^KillMode=control-group$/m);
      assert.match(unit, /^Restart=always$/m);
      assert.match(unit, new RegExp(`^PartOf=${name}-workers\\.target$`, 'm'));
      assert.equal(/^# An addition to frappe-bench's units/m.test(unit), queue === 'email_queue', `${queue}: marked as an addition only when custom`);
    }
    const target = read(`${dir}/${name}-workers.target`);
    const wants = /^Wants=(.*)$/m.exec(target)?.[1]?.split(' ') ?? [];
    for (const unit of ['default-worker@1', 'default-worker@2', 'short-worker@2', 'long-worker@2', 'email_queue-worker@3', 'schedule']) {
      assert.ok(wants.includes(`${name}-frappe-${unit}.service`), `${unit} is wanted`);
    }
    assert.equal(wants.length, 2 + 2 + 2 + 3 + 1);
    assert.match(read(`${dir}/${name}-frappe-schedule.service`), /^ExecStart=\/\S+ \S+bench\.js --bench-path \S+ schedule$/m);
    assert.match(read(`${dir}/${name}-redis.target`), new RegExp(`^Wants=${name}-redis-queue\\.service$`, 'm'));
    assert.match(read(`${dir}/${name}-redis-queue.service`), new RegExp(`^PartOf=${name}-redis\\.target$`, 'm'));
    const benchTarget = read(`${dir}/${name}.target`);
    assert.match(benchTarget, new RegExp(`^Requires=${name}-workers\\.target ${name}-redis\\.target$`, 'm'), 'Requires= as bench does');
    assert.match(benchTarget, /^WantedBy=multi-user\.target$/m, 'survives a reboot once enabled');
    assert.ok(existsSync(path.join(bench.path, 'logs')));
  });

  it('dashboard_in_units: a dashboard program and unit beside the scheduler, in its group and target, its logs beside theirs; off again, gone', { timeout: 30_000 }, async () => {
    bench.writeCommon({ ...COMMON, dashboard_in_units: true });
    const supervisor = await runBench(['setup', 'supervisor', '--yes'], { cwd: bench.path });
    assert.equal(supervisor.code, 0, supervisor.stderr);
    const ini = parseIni(read('config/supervisor.conf'));
    const dashboard = ini[`program:${name}-frappe-dashboard`];
    assert.ok(dashboard, Object.keys(ini).join(', '));
    assert.equal(dashboard['command'], `${process.execPath} ${BENCH_BIN} --bench-path ${bench.path} dashboard`, 'absolute node and bench paths, as the others');
    assert.equal(dashboard['stdout_logfile'], path.join(bench.path, 'logs', 'dashboard.log'));
    assert.equal(dashboard['stderr_logfile'], path.join(bench.path, 'logs', 'dashboard.error.log'));
    assert.equal(dashboard['numprocs'] ?? '1', '1');
    assert.equal(dashboard['killasgroup'], 'true');
    assert.equal(dashboard['directory'], bench.path);
    assert.equal(ini[`group:${name}-workers`]?.['programs']?.split(',').filter((p) => p === `${name}-frappe-dashboard`).length, 1, 'in the workers group');

    const systemd = await runBench(['setup', 'systemd', '--yes'], { cwd: bench.path });
    assert.equal(systemd.code, 0, systemd.stderr);
    const unit = read(`config/systemd/${name}-frappe-dashboard.service`);
    assert.match(unit, new RegExp(`^ExecStart=/\\S+ \\S+bench\\.js --bench-path \\S+ dashboard$`, 'm'));
    assert.match(unit, new RegExp(`^PartOf=${name}-workers\\.target$`, 'm'));
    assert.match(unit, new RegExp(`^After=${name}-redis-queue\\.service$`, 'm'));
    assert.match(unit, /^Restart=always$/m);
    assert.ok(unit.split('\n').includes(`StandardOutput=append:${path.join(bench.path, 'logs', 'dashboard.log')}`), unit);
    const wants = /^Wants=(.*)$/m.exec(read(`config/systemd/${name}-workers.target`))?.[1]?.split(' ') ?? [];
    assert.ok(wants.includes(`${name}-frappe-dashboard.service`), wants.join(' '));
    assert.equal(wants.length, 2 + 2 + 2 + 3 + 1 + 1);

    bench.writeCommon(COMMON);
    const off = await runBench(['setup', 'systemd', '--yes'], { cwd: bench.path });
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, new RegExp(`^removed \\S+${name}-frappe-dashboard\\.service$`, 'm'));
    assert.doesNotMatch(read(`config/systemd/${name}-workers.target`), /dashboard/);
    assert.equal((await runBench(['setup', 'supervisor', '--yes'], { cwd: bench.path })).code, 0);
    assert.doesNotMatch(read('config/supervisor.conf'), /dashboard/);
  });
});
