// `bench dashboard set-password` and `bench dashboard token` (the real bin/bench.js; `npm run build`
// first): what lands in common_site_config.json (hashes only, which then verify), defaults and edits of
// role and sites, tokens that authenticate, and bad input refused with the file untouched.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadBenchConfig } from '../../src/config/load.ts';
import type { DashboardUserConfig } from '../../src/config/schema.ts';
import { findTokenUser, hashApiToken } from '../../src/dashboard/auth/api-token.ts';
import { verifyPassword } from '../../src/dashboard/auth/password.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { runBench } from '../helpers/cli.ts';
import { runBenchOnTty } from '../helpers/tty.ts';
import { assertFailure, assertSuccess } from './support.ts';

const made: TestBench[] = [];
after(() => {
  for (const bench of made) bench.remove();
});

/** A bench with sites a.test and b.test; no Redis is needed (nothing here connects). */
function newBench(common: Record<string, unknown> = {}): TestBench {
  const bench = makeBench({ redisUrl: 'redis://127.0.0.1:1', common, sites: { 'a.test': {}, 'b.test': {} } });
  made.push(bench);
  return bench;
}

const configText = (bench: TestBench) => readFileSync(path.join(bench.path, 'sites', 'common_site_config.json'), 'utf8');
const usersOf = (bench: TestBench): Record<string, DashboardUserConfig> => ({ ...loadBenchConfig(bench.path).settings.dashboard_users });

function dashboard(bench: TestBench, args: readonly string[], input?: string) {
  return runBench(['dashboard', ...args], { cwd: bench.path, ...(input === undefined ? {} : { input }) });
}

describe('bench dashboard set-password', () => {
  test('default: user admin, admin of every site; only a scrypt hash is stored, and it verifies', async () => {
    const bench = newBench();
    const run = await dashboard(bench, ['set-password'], 'Sesame-Opens 42\n');
    assertSuccess(run);
    assert.match(run.stdout, /^added dashboard user admin \(admin, every site\) in .*common_site_config\.json: only the password's hash is stored\nthe dashboard now asks for a login/);
    const { admin } = usersOf(bench);
    assert.ok(admin);
    assert.deepEqual({ ...admin, password: 'hash' }, { password: 'hash', role: 'admin', sites: ['*'] });
    assert.match(admin.password ?? '', /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.equal(await verifyPassword('Sesame-Opens 42', admin.password ?? ''), true, 'the line, without its newline, is the password');
    assert.ok(!configText(bench).includes('Sesame'), 'the password itself reached the config file');
    assert.equal(JSON.parse(configText(bench)).redis_queue, 'redis://127.0.0.1:1', 'the other keys are kept');
  });

  test('--user --sites --role; setting the password again keeps role, sites and tokens unless given', async () => {
    const bench = newBench();
    assertSuccess(await dashboard(bench, ['set-password', '--user', 'ops@example', '--sites', 'b.test, a.test,b.test', '--role', 'viewer'], 'first-pw'));
    assert.deepEqual({ ...usersOf(bench)['ops@example'], password: undefined }, { password: undefined, role: 'viewer', sites: ['b.test', 'a.test'] });
    const token = (await dashboard(bench, ['token', '--user', 'ops@example'])).stdout.trim();
    const before = usersOf(bench)['ops@example'];
    const again = await dashboard(bench, ['set-password', '--user', 'ops@example'], 'second-pw\r\n');
    assertSuccess(again);
    assert.match(again.stdout, /^updated dashboard user ops@example \(viewer, sites b\.test, a\.test\).*\nits sessions logged in with the old password end/);
    const after = usersOf(bench)['ops@example'];
    assert.deepEqual({ ...after, password: undefined }, { ...before, password: undefined });
    assert.equal(await verifyPassword('second-pw', after?.password ?? ''), true);
    assert.equal(await verifyPassword('first-pw', after?.password ?? ''), false);
    assert.equal(findTokenUser(usersOf(bench), token), 'ops@example', 'the token survives a new password');
    assertSuccess(await dashboard(bench, ['set-password', '--user', 'ops@example', '--sites', '*', '--role', 'admin'], 'third-pw'));
    assert.deepEqual({ ...usersOf(bench)['ops@example'], password: undefined, tokens: undefined }, { password: undefined, role: 'admin', sites: ['*'], tokens: undefined });
  });

  test('on a terminal the password is asked twice and not echoed', async () => {
    const bench = newBench();
    const run = await runBenchOnTty(['dashboard', 'set-password', '--user', 'tty'], { cwd: bench.path, question: /Password for dashboard user tty: /, answer: 'Typed-Secret\rTyped-Secret\r' });
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Again: /);
    assert.ok(!run.output.includes('Typed-Secret'), `echoed: ${run.output}`);
    assert.equal(await verifyPassword('Typed-Secret', usersOf(bench)['tty']?.password ?? ''), true);
    const differ = await runBenchOnTty(['dashboard', 'set-password', '--user', 'tty'], { cwd: bench.path, question: /Password for/, answer: 'one\rtwo\r' });
    assert.equal(differ.code, 2, differ.output);
    assert.match(differ.output, /ERR_USAGE.*the two passwords differ/);
    assert.equal(await verifyPassword('Typed-Secret', usersOf(bench)['tty']?.password ?? ''), true, 'unchanged');
  });

  const refusals: [string, string[], string | undefined, number, (string | RegExp)[]][] = [
    ['an unknown role', ['--role', 'root'], 'pw', 2, ["argument 'root' is invalid", 'admin, viewer']],
    ['no stdin at all', [], undefined, 2, ['ERR_USAGE', 'the password is empty']],
    ['an empty line', [], '\n', 2, ['ERR_USAGE', 'the password is empty']],
    ['a line of spaces', [], '   \n', 2, ['ERR_USAGE', 'the password is empty']],
    ['two lines', [], 'pw\nmore\n', 2, ['ERR_USAGE', 'more than one line']],
    ['a password over 1024 characters', [], `${'x'.repeat(1025)}\n`, 2, ['ERR_USAGE', 'longer than 1024']],
    ['--sites with an empty name', ['--sites', 'a.test,,b.test'], 'pw', 2, ['ERR_USAGE', 'an empty name']],
    ['--sites that is only a comma', ['--sites', ','], 'pw', 2, ['ERR_USAGE', 'an empty name']],
    ['--sites mixing * with names', ['--sites', '*,a.test'], 'pw', 2, ['ERR_USAGE', '"*" means every site']],
    ['--sites with a bad name', ['--sites', 'a.test,../etc'], 'pw', 2, ['ERR_USAGE', '"../etc" is not a site name']],
    ['--sites naming no site of the bench', ['--sites', 'a.test,c.test'], 'pw', 1, ['ERR_SITE_NOT_FOUND', 'no site c.test', 'its sites: a.test, b.test']],
    ['a bad --user', ['--user', 'two words'], 'pw', 2, ['ERR_USAGE', '--user must be']],
  ];
  for (const [what, args, input, exitCode, stderr] of refusals) {
    test(`refused, the file untouched: ${what}`, async () => {
      const bench = newBench();
      const before = configText(bench);
      assertFailure(await dashboard(bench, ['set-password', ...args], input), { exitCode, stderr });
      assert.equal(configText(bench), before);
    });
  }
});

describe('bench dashboard token', () => {
  test('prints a new token alone, once; only its sha256 is stored, appended; it finds its user', async () => {
    const bench = newBench();
    assertSuccess(await dashboard(bench, ['set-password'], 'pw'));
    const first = await dashboard(bench, ['token']);
    assertSuccess(first);
    assert.match(first.stdout, /^bwd_[A-Za-z0-9_-]{43}\n$/);
    const second = await dashboard(bench, ['token', '--user', 'admin']);
    const [a, b] = [first.stdout.trim(), second.stdout.trim()];
    assert.notEqual(a, b);
    assert.deepEqual(usersOf(bench)['admin']?.tokens, [hashApiToken(a), hashApiToken(b)]);
    assert.ok(!configText(bench).includes(a.slice(4)) && !configText(bench).includes(b.slice(4)), 'a token reached the config file');
    assert.equal(findTokenUser(usersOf(bench), a), 'admin');
    assert.equal(await verifyPassword('pw', usersOf(bench)['admin']?.password ?? ''), true, 'the password is kept');
  });

  test('an unknown user is refused, naming the users there are and how to add one', async () => {
    const bench = newBench();
    const none = await dashboard(bench, ['token']);
    assertFailure(none, { exitCode: 2, stderr: ['ERR_USAGE', 'no dashboard user admin', 'it has none', 'bench dashboard set-password --user admin'] });
    assertSuccess(await dashboard(bench, ['set-password', '--user', 'alice'], 'pw'));
    const before = configText(bench);
    assertFailure(await dashboard(bench, ['token', '--user', 'bob']), { exitCode: 2, stderr: ['no dashboard user bob', 'it has alice'] });
    assertFailure(await dashboard(bench, ['token', '--user', 'constructor']), { exitCode: 2, stderr: ['no dashboard user constructor'] });
    assert.equal(configText(bench), before);
  });
});
