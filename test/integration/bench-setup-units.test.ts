// The flags of `bench setup procfile | supervisor | systemd`, as frappe-bench's: no silent overwrite
// (a question on a terminal, --yes, else ERR_CONFIRMATION_REQUIRED and nothing changed), --user,
// --skip-redis, no queue Redis when redis_queue is on another machine, and systemd's --stop,
// --create-symlinks and --delete-symlinks (into $BENCH_SYSTEMD_DIR, a throwaway folder here, with a
// systemctl on PATH that only records its arguments: the real /etc and systemd are never touched).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { runBench } from '../helpers/cli.ts';
import { freePort } from '../helpers/redis-server.ts';
import { runBenchOnTty } from '../helpers/tty.ts';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

async function newBench(redisUrl?: string): Promise<{ bench: TestBench; name: string }> {
  const bench = makeBench({ redisUrl: redisUrl ?? `redis://127.0.0.1:${await freePort()}`, common: { workers: { reports: { timeout: 900 } } } });
  cleanups.push(() => bench.remove());
  return { bench, name: path.basename(bench.path) };
}

function tmpDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A PATH whose systemctl (and sudo) only record their arguments, one call per line. */
function fakeSystemctl(): { env: NodeJS.ProcessEnv; calls: () => string[] } {
  const bin = tmpDir('bw-fake-systemctl-');
  const log = path.join(bin, 'calls');
  for (const tool of ['systemctl', 'sudo']) {
    writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> "${log}"\n`);
    chmodSync(path.join(bin, tool), 0o755);
  }
  return {
    env: { PATH: `${bin}:${process.env['PATH'] ?? ''}` },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
  };
}

describe('bench setup: no silent overwrite', () => {
  for (const [command, file] of [['procfile', 'Procfile'], ['supervisor', 'config/supervisor.conf']] as const) {
    it(`${command}: an existing ${file} is replaced only with --yes or a "y" on a terminal`, { timeout: 60_000 }, async () => {
      const { bench } = await newBench();
      const full = path.join(bench.path, file);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, 'edited by hand\n');
      const refused = await runBench(['setup', command], { cwd: bench.path });
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stderr, new RegExp(`^Error \\[ERR_CONFIRMATION_REQUIRED\\]: replace \\S+${path.basename(file)}: needs a confirmation; run it on a terminal to be asked, or pass --yes$`, 'm'));
      assert.equal(readFileSync(full, 'utf8'), 'edited by hand\n');
      const no = await runBenchOnTty(['setup', command], { cwd: bench.path, question: /replace it\? \[y\/N\] /, answer: 'n\n' });
      assert.equal(no.code, 1, no.output);
      assert.equal(readFileSync(full, 'utf8'), 'edited by hand\n');
      const yes = await runBenchOnTty(['setup', command], { cwd: bench.path, question: /replace it\? \[y\/N\] /, answer: 'y\n' });
      assert.equal(yes.code, 0, yes.output);
      assert.notEqual(readFileSync(full, 'utf8'), 'edited by hand\n');
      writeFileSync(full, 'edited by hand\n');
      const forced = await runBench(['setup', command, '--yes'], { cwd: bench.path });
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(readFileSync(full, 'utf8'), command === 'procfile' ? /^worker: /m : /^\[program:/m);
    });
  }

  it('systemd: units in config/systemd/ are replaced only with --yes; units of an earlier shape are removed', { timeout: 30_000 }, async () => {
    const { bench, name } = await newBench();
    assert.equal((await runBench(['setup', 'systemd'], { cwd: bench.path })).code, 0);
    const dir = path.join(bench.path, 'config', 'systemd');
    const refused = await runBench(['setup', 'systemd'], { cwd: bench.path });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /ERR_CONFIRMATION_REQUIRED\]: replace the units in \S+: needs a confirmation/);
    bench.writeCommon({});
    const replaced = await runBench(['setup', 'systemd', '--yes'], { cwd: bench.path });
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, new RegExp(`^removed \\S+${name}-frappe-reports-worker@\\.service$`, 'm'));
    assert.equal(existsSync(path.join(dir, `${name}-frappe-reports-worker@.service`)), false);
  });
});

describe('bench setup: the queue Redis and --user', () => {
  it('redis_queue on another machine: no redis program, unit, target or Procfile entry, and it says why', { timeout: 30_000 }, async () => {
    const { bench, name } = await newBench('redis://redis.internal:6380');
    const supervisor = await runBench(['setup', 'supervisor'], { cwd: bench.path });
    assert.equal(supervisor.code, 0, supervisor.stderr);
    assert.match(supervisor.stdout, /^skipped the queue Redis: redis_queue is on another machine \(redis\.internal:6380\)$/m);
    const conf = readFileSync(path.join(bench.path, 'config', 'supervisor.conf'), 'utf8');
    assert.doesNotMatch(conf, /redis-server|redis-queue|\[group:.*-redis\]/);
    assert.equal(existsSync(path.join(bench.path, 'config', 'redis_queue.conf')), false);

    const systemd = await runBench(['setup', 'systemd'], { cwd: bench.path });
    assert.equal(systemd.code, 0, systemd.stderr);
    const units = readdirSync(path.join(bench.path, 'config', 'systemd'));
    assert.deepEqual(units.filter((u) => u.includes('redis')), []);
    const target = readFileSync(path.join(bench.path, 'config', 'systemd', `${name}.target`), 'utf8');
    assert.match(target, new RegExp(`^Requires=${name}-workers\\.target$`, 'm'));
    assert.doesNotMatch(readFileSync(path.join(bench.path, 'config', 'systemd', `${name}-frappe-short-worker@.service`), 'utf8'), /redis/);

    assert.equal((await runBench(['setup', 'procfile'], { cwd: bench.path })).code, 0);
    assert.doesNotMatch(readFileSync(path.join(bench.path, 'Procfile'), 'utf8'), /redis/);
  });

  it('--skip-redis leaves a local queue Redis out of supervisor; --user names the user of every program and unit', { timeout: 30_000 }, async () => {
    const { bench } = await newBench();
    const result = await runBench(['setup', 'supervisor', '--skip-redis', '--user', 'frappe'], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^skipped the queue Redis \(--skip-redis\)$/m);
    const conf = readFileSync(path.join(bench.path, 'config', 'supervisor.conf'), 'utf8');
    assert.doesNotMatch(conf, /redis-queue/);
    const users = [...conf.matchAll(/^user=(.*)$/gm)].map((m) => m[1]);
    assert.ok(users.length >= 4 && users.every((u) => u === 'frappe'), users.join(','));

    const systemd = await runBench(['setup', 'systemd', '--user', 'frappe'], { cwd: bench.path });
    assert.equal(systemd.code, 0, systemd.stderr);
    for (const unit of readdirSync(path.join(bench.path, 'config', 'systemd')).filter((u) => u.endsWith('.service'))) {
      assert.match(readFileSync(path.join(bench.path, 'config', 'systemd', unit), 'utf8'), /^User=frappe$/m, unit);
    }
    const bad = await runBench(['setup', 'systemd', '--yes', '--user', 'a b\nExecStartPre=/bin/true'], { cwd: bench.path });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ERR_USAGE\]: --user "a b\\nExecStartPre=\/bin\/true" is not a user name/);
  });
});

describe('bench setup systemd --create-symlinks | --delete-symlinks | --stop', () => {
  it('links every unit into $BENCH_SYSTEMD_DIR and reloads; a file in the way links nothing; delete removes only our links', { timeout: 30_000 }, async () => {
    const { bench, name } = await newBench();
    assert.equal((await runBench(['setup', 'systemd'], { cwd: bench.path })).code, 0);
    const units = readdirSync(path.join(bench.path, 'config', 'systemd')).sort();
    const target = tmpDir('bw-systemd-dir-');
    const systemctl = fakeSystemctl();
    const env = { ...systemctl.env, BENCH_SYSTEMD_DIR: target };

    writeFileSync(path.join(target, `${name}.target`), 'not ours\n');
    const blocked = await runBench(['setup', 'systemd', '--create-symlinks'], { cwd: bench.path, env });
    assert.equal(blocked.code, 1);
    assert.match(blocked.stderr, /ERR_FILE_EXISTS\]: \S+\.target exists and is not a link to \S+: remove it first \(nothing was linked\)/);
    assert.deepEqual(readdirSync(target), [`${name}.target`]);
    assert.deepEqual(systemctl.calls(), []);
    rmSync(path.join(target, `${name}.target`));

    const created = await runBench(['setup', 'systemd', '--create-symlinks'], { cwd: bench.path, env });
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(readdirSync(target).sort(), units);
    for (const unit of units) assert.equal(readlinkSync(path.join(target, unit)), path.join(bench.path, 'config', 'systemd', unit));
    assert.deepEqual(systemctl.calls(), [process.getuid?.() === 0 ? 'systemctl daemon-reload' : 'sudo systemctl daemon-reload']);
    const again = await runBench(['setup', 'systemd', '--create-symlinks'], { cwd: bench.path, env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /every unit is already linked/);

    symlinkSync('/nonexistent/other.service', path.join(target, 'other.service'));
    const deleted = await runBench(['setup', 'systemd', '--delete-symlinks'], { cwd: bench.path, env });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(readdirSync(target), ['other.service'], "another unit's link is left alone");
    assert.equal(deleted.stdout.split('\n').filter((l) => l.startsWith('removed ')).length, units.length);
  });

  it('--stop stops the targets the bench target requires, as frappe-bench', { timeout: 30_000 }, async () => {
    const { bench, name } = await newBench();
    const systemctl = fakeSystemctl();
    const result = await runBench(['setup', 'systemd', '--stop'], { cwd: bench.path, env: systemctl.env });
    assert.equal(result.code, 0, result.stderr);
    const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
    assert.deepEqual(systemctl.calls(), [`${sudo}systemctl stop -- ${name}-workers.target ${name}-redis.target`]);
    assert.equal(existsSync(path.join(bench.path, 'config', 'systemd')), false, '--stop writes nothing');
    const both = await runBench(['setup', 'systemd', '--stop', '--create-symlinks'], { cwd: bench.path, env: systemctl.env });
    assert.equal(both.code, 2);
  });
});
