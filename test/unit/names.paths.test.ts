// Names that become paths or keys are checked before they reach one: an installed app "../outside" once
// made hooks and DocType controllers resolve outside apps/, and a module there was imported and ran.
// Here a module outside apps/ writes a marker file when imported: no lookup may import it. Also job ids
// (length, control characters), DocTypes and document names, and kinds named with the right article.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listApps, loadBenchConfig, loadSiteConfig, type SiteConfig } from '../../src/config/load.ts';
import { BenchClient } from '../../src/client.ts';
import { BenchError, ConfigError, JobLoadError } from '../../src/errors.ts';
import { docMethodPath } from '../../src/jobs/doc-method.ts';
import { methodPathOf } from '../../src/jobs/function-path.ts';
import { hooksFile, siteHooks } from '../../src/jobs/hooks.ts';
import { appModuleDir, functionAt, resolveMethodFile } from '../../src/jobs/loader.ts';
import { checkEnqueueRequest } from '../../src/queue/enqueue.ts';
import { fullJobId } from '../../src/queue/inspect.ts';
import { resolveJobId } from '../../src/monitor/actions.ts';
import { kindOf, printable } from '../../src/util/text.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';

const SITE = 'site1.test';
let bench: TestBench;
let appsDir: string;
let marker: string;

before(() => {
  // Nothing listens on port 1: a call that reached Redis would fail with ERR_REDIS_UNAVAILABLE instead.
  bench = makeBench({ redisUrl: 'redis://127.0.0.1:1' });
  appsDir = path.join(bench.path, 'apps');
  marker = path.join(bench.path, 'imported-outside');
  // Where apps/<app>/<app>/... led for app "../outside": apps/../outside/../outside/... is bench/outside/.
  const outside = path.join(bench.path, 'outside');
  const code = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport const before_job = [];\nexport function run() {}\n`;
  mkdirSync(path.join(outside, 'doctype', 'note'), { recursive: true });
  writeFileSync(path.join(outside, 'hooks.mjs'), code);
  writeFileSync(path.join(outside, 'doctype', 'note', 'note.mjs'), code);
  // A folder under apps/ whose name no method path can address.
  mkdirSync(path.join(appsDir, 'bad-name', 'bad-name'), { recursive: true });
});

after(() => bench.remove());

function siteWith(installedApps: readonly string[]): SiteConfig {
  const site = loadSiteConfig(loadBenchConfig(bench.path), SITE);
  return { ...site, installedApps };
}

function refusesApp(err: unknown): boolean {
  assert.ok(err instanceof JobLoadError, `expected a JobLoadError, got ${String(err)}`);
  assert.match(err.message, /"\.\.\/outside" is not an app name/);
  return true;
}

describe('app names never become paths outside apps/', () => {
  test('installed_apps: ["../outside"] in a site config is refused when it loads', () => {
    bench.writeSite('evil.test', { installed_apps: ['testapp', '../outside'] });
    assert.throws(() => loadSiteConfig(loadBenchConfig(bench.path), 'evil.test'), (err: unknown) => err instanceof ConfigError && /installed_apps\[1\]/.test(err.message));
  });

  test('hooks of a hand-made site with "../outside" installed: refused, nothing imported', async () => {
    assert.throws(() => hooksFile(appsDir, '../outside'), refusesApp);
    await assert.rejects(siteHooks(appsDir, siteWith(['testapp', '../outside'])), refusesApp);
    assert.equal(existsSync(marker), false, 'a module outside apps/ was imported');
  });

  test('DocType controllers and function lookups refuse it too', async () => {
    assert.throws(() => docMethodPath(appsDir, ['../outside'], 'Note', 'N-1', 'run'), refusesApp);
    await assert.rejects(methodPathOf(() => 1, appsDir, ['../outside']), refusesApp);
    assert.equal(existsSync(marker), false);
  });

  for (const name of ['../outside', 'a/b', '', '.', '..', '1app', 'x'.repeat(101), 'app\n']) {
    test(`appModuleDir refuses ${JSON.stringify(name)}`, () => {
      assert.throws(() => appModuleDir(appsDir, name), JobLoadError);
    });
  }

  test('a valid app name is its module folder', () => {
    assert.equal(appModuleDir(appsDir, 'testapp'), path.join(appsDir, 'testapp', 'testapp'));
  });

  test('listApps skips folders whose name is not an app name', () => {
    const apps = listApps(loadBenchConfig(bench.path));
    assert.ok(apps.includes('testapp'));
    assert.ok(!apps.includes('bad-name'), apps.join(','));
  });

  test('a method path of 501 characters is refused before the file system', () => {
    assert.throws(() => resolveMethodFile(appsDir, `testapp.tasks.${'x'.repeat(487)}`), /at most 500 characters/);
  });
});

describe('DocTypes and document names', () => {
  for (const [doctype, name, message] of [
    ['../note', 'N-1', /invalid DocType "\.\.\/note"/],
    ['Note/x', 'N-1', /invalid DocType/],
    ['N'.repeat(141), 'N-1', /at most 140 characters/],
    ['Sales Order', 'SO\n1', /invalid document name "SO\\n1"/],
    ['Sales Order', 'x'.repeat(141), /invalid document name/],
    ['Sales Order', '', /invalid document name/],
  ] as const) {
    test(`${JSON.stringify(doctype).slice(0, 30)} / ${JSON.stringify(name).slice(0, 30)} is refused`, () => {
      assert.throws(() => docMethodPath(appsDir, ['testapp'], doctype, name, 'run'), (err: unknown) => err instanceof BenchError && err.code === 'ERR_ENQUEUE_INVALID' && message.test(err.message));
    });
  }
});

describe('user-given job ids', () => {
  let client: BenchClient;
  before(async () => {
    client = await BenchClient.open({ benchPath: bench.path, lazyConnect: true });
  });
  after(() => client.close());

  for (const [what, id] of [
    ['201 characters', 'j'.repeat(201)],
    ['100 KB', 'j'.repeat(100_000)],
    ['a newline', 'a\nb'],
    ['an escape sequence', 'a\u001b[2Jb'],
    ['a DEL', 'a\u007fb'],
    ['a line separator', 'a\u2028b'],
    ['nothing', ''],
  ] as const) {
    test(`an id of ${what} is refused before Redis is asked (ERR_ENQUEUE_INVALID), shown escaped and short`, async () => {
      await assert.rejects(client.enqueue('testapp.tasks.echo', { site: SITE, jobId: id }), (err: unknown) => {
        assert.ok(err instanceof BenchError, String(err));
        assert.equal(err.code, 'ERR_ENQUEUE_INVALID', err.message);
        assert.match(err.message, /jobId .* is refused: a job id has 1 to 200 characters, no control characters or newlines/);
        assert.equal(printable(err.message), err.message, 'the message holds no control character');
        assert.ok(err.message.length < 300, `message of ${err.message.length} characters`);
        return true;
      });
      assert.throws(() => checkEnqueueRequest(client.bench, 'testapp.tasks.echo', { jobId: id }, undefined), /jobId .* is refused/);
    });
  }

  test('lookups refuse such ids with a usage error', () => {
    assert.throws(() => fullJobId(SITE, 'a\nb'), (err: unknown) => err instanceof BenchError && err.code === 'ERR_USAGE' && err.exitCode === 2);
    assert.throws(() => resolveJobId(undefined, `${SITE}||${'j'.repeat(201)}`), /is refused/);
    assert.throws(() => resolveJobId(undefined, 'bad site||x'), /not a site name/);
    assert.equal(resolveJobId(SITE, 'a:b'), `${SITE}||a|b`);
    assert.equal(fullJobId(SITE, 'j'.repeat(200)), `${SITE}||${'j'.repeat(200)}`);
  });
});

describe('kinds are named with the right article', () => {
  test('an object, a number, null, an instance', async () => {
    assert.equal(kindOf({}), 'an object');
    assert.equal(kindOf(Object.create(null)), 'an object');
    assert.equal(kindOf(3), 'a number');
    assert.equal(kindOf(undefined), 'undefined');
    assert.equal(kindOf(new (class Item {})()), 'an Item');
    assert.equal(kindOf(new Uint8Array(1)), 'a Uint8Array');
    const location = { method: 'testapp.tasks.settings', app: 'testapp', file: '/x.ts', exportName: 'settings' };
    await assert.rejects(functionAt(location, async () => ({ settings: { retries: 3 } })), /export "settings" of \/x\.ts is an object, not a function/);
  });
});
