// Config loading: defaults, file validation (every message names file, key, expected and found),
// site merging, installed apps, queue order, bench id and bench discovery.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  pathBenchId,
  findBenchPath,
  getQueueSpec,
  listApps,
  listSites,
  loadBenchConfig,
  loadSiteConfig,
} from '../../src/config/load.ts';
import { BenchError, ConfigError } from '../../src/errors.ts';
import { queueKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';

const REDIS_URL = 'redis://127.0.0.1:1';
const benches: TestBench[] = [];

function newBench(options: Parameters<typeof makeBench>[0] = { redisUrl: REDIS_URL }): TestBench {
  const bench = makeBench(options);
  benches.push(bench);
  return bench;
}

function commonFile(bench: TestBench): string {
  return path.join(bench.path, 'sites', 'common_site_config.json');
}

/** Replace common_site_config.json with exactly `text` (no redis_queue/bench_id added). */
function writeCommonRaw(bench: TestBench, text: string): void {
  writeFileSync(commonFile(bench), text);
}

function siteFile(bench: TestBench, site: string): string {
  return path.join(bench.path, 'sites', site, 'site_config.json');
}

/**
 * Asserts `fn` throws a ConfigError (ERR_CONFIG_INVALID) for `key` whose message names `path` (default: the
 * key; a nested value's dotted path) and contains every `parts`.
 */
function assertConfigError(fn: () => unknown, file: string, key: string | undefined, parts: readonly string[], path = key): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_CONFIG_INVALID');
    assert.equal(err.file, file);
    assert.equal(err.key, key);
    assert.ok(err.message.includes(file), `message should name the file ${file}: ${err.message}`);
    if (path !== undefined) assert.ok(err.message.includes(`"${path}"`), `message should name ${path}: ${err.message}`);
    for (const part of parts) assert.ok(err.message.includes(part), `message should include ${JSON.stringify(part)}: ${err.message}`);
    return true;
  });
}

function assertBenchError(fn: () => unknown, code: string, parts: readonly string[] = []): BenchError {
  let caught: BenchError | undefined;
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BenchError, `expected a BenchError, got ${String(err)}`);
    assert.equal(err.code, code);
    for (const part of parts) assert.ok(err.message.includes(part), `message should include ${JSON.stringify(part)}: ${err.message}`);
    caught = err;
    return true;
  });
  assert.ok(caught);
  return caught;
}

after(() => {
  for (const bench of benches) bench.remove();
});

describe('loadBenchConfig: defaults', () => {
  test('an empty common_site_config.json gets every default', () => {
    const bench = newBench();
    writeCommonRaw(bench, '{}');
    const config = loadBenchConfig(bench.path);
    assert.equal(config.settings.redis_queue, 'redis://127.0.0.1:11000');
    assert.equal(config.settings.rq_job_failure_ttl, 604800);
    assert.equal(config.settings.rq_results_ttl, 600);
    assert.equal(config.settings.rq_failed_jobs_limit, 1000);
    assert.equal(config.settings.max_queued_jobs, 500);
    assert.equal(config.settings.background_workers, 1);
    assert.equal(config.settings.max_job_payload_bytes, 4 * 1024 * 1024);
    assert.equal(config.settings.job_timeout_grace, 3);
    assert.equal(config.settings.use_rq_auth, false);
    assert.deepEqual(config.settings.workers, {});
    // Loading never writes: until a command connected to Redis saves an id, the path-derived one stands in.
    assert.equal(config.settings.bench_id, pathBenchId(bench.path));
    assert.equal(config.benchIdSaved, false);
    assert.equal(config.path, bench.path);
    assert.equal(config.sitesDir, path.join(bench.path, 'sites'));
    assert.equal(config.appsDir, path.join(bench.path, 'apps'));
    assert.equal(config.commonConfigFile, commonFile(bench));
  });

  test('a missing common_site_config.json is fine and gives the defaults', () => {
    const bench = newBench();
    rmSync(commonFile(bench));
    assert.equal(existsSync(commonFile(bench)), false);
    const config = loadBenchConfig(bench.path);
    assert.equal(config.settings.redis_queue, 'redis://127.0.0.1:11000');
    assert.equal(config.settings.rq_results_ttl, 600);
    assert.deepEqual(
      config.queues.map((q) => q.name),
      ['short', 'default', 'long'],
    );
  });

  test('values in the file override the defaults; unknown keys pass through into common', () => {
    const bench = newBench();
    writeCommonRaw(
      bench,
      JSON.stringify({ redis_queue: 'rediss://example:6380/2', rq_results_ttl: 42, bench_id: 'mine', my_key: { a: 1 } }),
    );
    const config = loadBenchConfig(bench.path);
    assert.equal(config.settings.redis_queue, 'rediss://example:6380/2');
    assert.equal(config.settings.rq_results_ttl, 42);
    assert.equal(config.settings.bench_id, 'mine');
    assert.equal(config.settings.rq_failed_jobs_limit, 1000);
    assert.deepEqual(config.common['my_key'], { a: 1 });
  });

  test('the loaded config is frozen', () => {
    const bench = newBench();
    const config = loadBenchConfig(bench.path);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.common));
    assert.ok(Object.isFrozen(config.settings));
    assert.ok(Object.isFrozen(config.queues));
  });
});

describe('loadBenchConfig: malformed files', () => {
  test('malformed JSON is an ERR_CONFIG_INVALID naming the file', () => {
    const bench = newBench();
    writeCommonRaw(bench, '{"redis_queue": "redis://x:1",');
    assertConfigError(() => loadBenchConfig(bench.path), commonFile(bench), undefined, ['malformed JSON']);
  });

  test('a top-level array is refused', () => {
    const bench = newBench();
    writeCommonRaw(bench, '[1, 2]');
    assertConfigError(() => loadBenchConfig(bench.path), commonFile(bench), undefined, [
      'expected a JSON object at the top level',
      'a list',
    ]);
  });

  for (const [text, found] of [
    ['"text"', '"text" (string)'],
    ['null', 'null'],
    ['7', '7 (number)'],
  ] as const) {
    test(`a top-level ${text} is refused`, () => {
      const bench = newBench();
      writeCommonRaw(bench, text);
      assertConfigError(() => loadBenchConfig(bench.path), commonFile(bench), undefined, [
        'expected a JSON object at the top level',
        found,
      ]);
    });
  }

  test('a common config that is a folder cannot be read', () => {
    const bench = newBench();
    rmSync(commonFile(bench));
    mkdirSync(commonFile(bench));
    assertConfigError(() => loadBenchConfig(bench.path), commonFile(bench), undefined, ['cannot be read']);
  });
});

describe('loadBenchConfig: wrong types name file, key, expected and found', () => {
  const cases: { name: string; config: Record<string, unknown>; key: string; path?: string; parts: string[]; absent?: string }[] = [
    {
      name: 'string for a number key',
      config: { rq_results_ttl: '600' },
      key: 'rq_results_ttl',
      parts: ['expected a whole number of seconds from 1 to 31536000 (365 days)', 'found "600" (string)'],
    },
    {
      name: 'negative number',
      config: { max_queued_jobs: -5 },
      key: 'max_queued_jobs',
      parts: ['expected a whole number from 1 to 100000000', 'found -5 (number)'],
    },
    {
      name: 'zero for a positive key',
      config: { rq_failed_jobs_limit: 0 },
      key: 'rq_failed_jobs_limit',
      parts: ['expected a whole number from 1 to 1000000', 'found 0 (number)'],
    },
    {
      name: 'fraction for a whole-number key',
      config: { rq_job_failure_ttl: 1.5 },
      key: 'rq_job_failure_ttl',
      parts: ['expected a whole number of seconds from 1 to', 'found 1.5 (number)'],
    },
    {
      name: 'negative for a non-negative key',
      config: { job_timeout_grace: -1 },
      key: 'job_timeout_grace',
      parts: ['expected a whole number of seconds from 0 to 3600 (1 hour)', 'found -1 (number)'],
    },
    {
      name: 'over the maximum',
      config: { worker_lease_ttl: 3601 },
      key: 'worker_lease_ttl',
      parts: ['expected a whole number of seconds from 1 to 3600 (1 hour)', 'found 3601 (number)'],
    },
    {
      name: 'null for a number key',
      config: { background_workers: null },
      key: 'background_workers',
      parts: ['expected a whole number from 1 to 1024', 'found null'],
    },
    {
      name: 'non-URL redis_queue',
      config: { redis_queue: 'localhost:6379' },
      key: 'redis_queue',
      parts: ['expected a redis:// or rediss:// URL', 'found scheme "localhost"'],
    },
    {
      name: 'http URL for redis_queue',
      config: { redis_queue: 'http://127.0.0.1:6379' },
      key: 'redis_queue',
      parts: ['expected a redis:// or rediss:// URL', 'found scheme "http"'],
    },
    {
      name: 'a wrong redis_queue URL is shown without its password',
      config: { redis_queue: 'http://someone:cfg-s3cret@127.0.0.1:6379' },
      key: 'redis_queue',
      parts: ['expected a redis:// or rediss:// URL', 'found scheme "http"'],
      absent: 'cfg-s3cret',
    },
    {
      name: 'a wrong rq_password is described, never shown',
      config: { rq_password: 918273645 },
      key: 'rq_password',
      parts: ['expected a non-empty string', 'found a number (not shown: a secret)'],
      absent: '918273645',
    },
    {
      name: 'number for redis_queue',
      config: { redis_queue: 6379 },
      key: 'redis_queue',
      parts: ['expected a redis:// or rediss:// URL', 'found 6379 (number)'],
    },
    {
      name: 'string for a flag (use_rq_auth takes true/false or 1/0, as Frappe writes it)',
      config: { use_rq_auth: 'yes' },
      key: 'use_rq_auth',
      parts: ['expected true, false, 1 or 0', 'found "yes" (string)'],
    },
    {
      name: 'empty bench_id',
      config: { bench_id: '' },
      key: 'bench_id',
      parts: ['expected a non-empty string', 'found "" (string)'],
    },
    {
      name: 'workers with a zero timeout',
      config: { workers: { reports: { timeout: 0 } } },
      key: 'workers',
      path: 'workers.reports.timeout',
      parts: ['expected a whole number of seconds from 1 to 2592000 (30 days)', 'found 0 (number)'],
    },
    {
      name: 'workers with a string timeout names the nested value, not the whole object',
      config: { workers: { reports: { timeout: '60' } } },
      key: 'workers',
      path: 'workers.reports.timeout',
      parts: ['expected a whole number of seconds', 'found "60" (string)'],
    },
    {
      name: 'workers with a timeout over 30 days',
      config: { workers: { reports: { timeout: 2592001 } } },
      key: 'workers',
      path: 'workers.reports.timeout',
      parts: ['from 1 to 2592000 (30 days)', 'found 2592001 (number)'],
    },
    {
      name: 'workers with bad background_workers',
      config: { workers: { reports: { background_workers: -1 } } },
      key: 'workers',
      path: 'workers.reports.background_workers',
      parts: ['expected a whole number from 1 to 1024', 'found -1 (number)'],
    },
    {
      name: 'workers with a bad queue name',
      config: { workers: { 'bad name': { timeout: 10 } } },
      key: 'workers',
      path: 'workers.bad name',
      parts: ['letters, digits, "_" and "-"', 'found "bad name"'],
    },
    {
      name: 'workers with a brace in a queue name',
      config: { workers: { 'q}x': {} } },
      key: 'workers',
      path: 'workers.q}x',
      parts: ['found "q}x"'],
    },
    {
      name: 'workers entry that is not an object',
      config: { workers: { reports: 5 } },
      key: 'workers',
      path: 'workers.reports',
      parts: ['expected an object {"timeout": seconds', 'found 5 (number)'],
    },
    {
      name: 'workers as a list',
      config: { workers: ['reports'] },
      key: 'workers',
      parts: ['expected an object of queue name', 'found a list (["reports"])'],
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const bench = newBench();
      writeCommonRaw(bench, JSON.stringify(c.config));
      assertConfigError(() => loadBenchConfig(bench.path), commonFile(bench), c.key, c.parts, c.path ?? c.key);
      if (c.absent !== undefined) {
        const absent = c.absent;
        assert.throws(() => loadBenchConfig(bench.path), (err: Error) => !err.message.includes(absent) && !JSON.stringify(err).includes(absent));
      }
    });
  }

  test('long found values are truncated', () => {
    const bench = newBench();
    writeCommonRaw(bench, JSON.stringify({ redis_queue: 'x'.repeat(200) }));
    assert.throws(
      () => loadBenchConfig(bench.path),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.message.includes(`found "${'x'.repeat(57)}..." (string)`), err.message);
        assert.ok(!err.message.includes('x'.repeat(58)), err.message);
        return true;
      },
    );
  });

  test('installed_apps in the common config is refused', () => {
    const bench = newBench();
    writeCommonRaw(bench, JSON.stringify({ installed_apps: ['testapp'] }));
    assertConfigError(() => loadBenchConfig(bench.path), commonFile(bench), 'installed_apps', [
      'belongs in sites/<site>/site_config.json',
    ]);
  });

  test('valid values of every kind are accepted', () => {
    const bench = newBench();
    writeCommonRaw(
      bench,
      JSON.stringify({
        redis_queue: 'redis://user:pw@host:1234/3',
        workers: { reports: { timeout: 10, background_workers: 2 }, 'a-b_C9': {} },
        rq_job_failure_ttl: 1,
        job_timeout_grace: 0,
        use_rq_auth: true,
        rq_username: 'u',
        rq_password: 'p',
        bench_id: 'b',
      }),
    );
    const config = loadBenchConfig(bench.path);
    assert.equal(config.settings.job_timeout_grace, 0);
    assert.equal(config.settings.use_rq_auth, true);
    assert.equal(config.settings.rq_username, 'u');
  });
});

describe('loadSiteConfig', () => {
  let bench: TestBench;
  before(() => {
    bench = newBench({
      redisUrl: REDIS_URL,
      common: { rq_results_ttl: 100, shared: 'common', common_only: 'c' },
      sites: {
        'site1.test': { rq_results_ttl: 200, shared: 'site', site_only: 1 },
        'site2.test': { installed_apps: ['testapp'] },
        'site3.test': {},
      },
    });
    // Not sites: a folder without site_config.json and a plain file.
    mkdirSync(path.join(bench.path, 'sites', 'assets'));
    // Not apps: a folder without its module folder and a plain file.
    mkdirSync(path.join(bench.path, 'apps', 'halfapp'));
    writeFileSync(path.join(bench.path, 'apps', 'README.md'), 'not an app');
  });

  test('the site file overrides the common file; unknown keys pass through into merged', () => {
    const config = loadBenchConfig(bench.path);
    const site = loadSiteConfig(config, 'site1.test');
    assert.equal(site.site, 'site1.test');
    assert.equal(site.file, siteFile(bench, 'site1.test'));
    assert.equal(site.merged['rq_results_ttl'], 200);
    assert.equal(site.settings.rq_results_ttl, 200);
    assert.equal(site.merged['shared'], 'site');
    assert.equal(site.merged['common_only'], 'c');
    assert.equal(site.merged['site_only'], 1);
    // Defaults still come through the merge.
    assert.equal(site.settings.rq_failed_jobs_limit, 1000);
    // The bench's own config is not changed by a site.
    assert.equal(config.settings.rq_results_ttl, 100);
    assert.ok(Object.isFrozen(site));
    assert.ok(Object.isFrozen(site.merged));
    assert.ok(Object.isFrozen(site.installedApps));
  });

  test('a site without its own values gets the common ones', () => {
    const site = loadSiteConfig(loadBenchConfig(bench.path), 'site3.test');
    assert.equal(site.settings.rq_results_ttl, 100);
    assert.equal(site.merged['shared'], 'common');
  });

  test('installed_apps defaults to every apps/<app> holding apps/<app>/<app>', () => {
    const config = loadBenchConfig(bench.path);
    assert.deepEqual(listApps(config), ['dbapp', 'otherapp', 'testapp']);
    assert.deepEqual(loadSiteConfig(config, 'site1.test').installedApps, ['dbapp', 'otherapp', 'testapp']);
  });

  test('installed_apps from the site file is used as given', () => {
    const site = loadSiteConfig(loadBenchConfig(bench.path), 'site2.test');
    assert.deepEqual(site.installedApps, ['testapp']);
  });

  test('listSites lists only folders holding a site_config.json', () => {
    assert.deepEqual(listSites(loadBenchConfig(bench.path)), ['site1.test', 'site2.test', 'site3.test']);
  });

  test('an unknown site is ERR_SITE_NOT_FOUND with the available sites in its details', () => {
    const config = loadBenchConfig(bench.path);
    const err = assertBenchError(() => loadSiteConfig(config, 'nosuch.test'), 'ERR_SITE_NOT_FOUND', ['"nosuch.test"']);
    assert.deepEqual(err.details['availableSites'], ['site1.test', 'site2.test', 'site3.test']);
    assert.equal(err.details['site'], 'nosuch.test');
  });

  test(
    'an unknown site error message itself lists the available sites',
    () => {
      const config = loadBenchConfig(bench.path);
      assertBenchError(() => loadSiteConfig(config, 'nosuch.test'), 'ERR_SITE_NOT_FOUND', [
        'site1.test',
        'site2.test',
        'site3.test',
      ]);
    },
  );

  test('a folder without site_config.json is not a site', () => {
    assertBenchError(() => loadSiteConfig(loadBenchConfig(bench.path), 'assets'), 'ERR_SITE_NOT_FOUND');
  });

  for (const name of ['../x', '..', '.', '.hidden', 'a/b', 'a\\b', '', 'a..b', 'x y', '-site', '/etc']) {
    test(`invalid site name ${JSON.stringify(name)} is refused`, () => {
      // A config reachable through "../x" from sites/: without the name check it would load.
      mkdirSync(path.join(bench.path, 'x'), { recursive: true });
      writeFileSync(path.join(bench.path, 'x', 'site_config.json'), '{}');
      const err = assertBenchError(() => loadSiteConfig(loadBenchConfig(bench.path), name), 'ERR_SITE_NOT_FOUND', [
        'is not a valid site name',
      ]);
      assert.ok(!(err instanceof ConfigError));
    });
  }

  test('wrong type for installed_apps in a site config names file, key, expected and found', () => {
    const b = newBench({ redisUrl: REDIS_URL, sites: { 's.test': { installed_apps: 'testapp' } } });
    assertConfigError(() => loadSiteConfig(loadBenchConfig(b.path), 's.test'), siteFile(b, 's.test'), 'installed_apps', [
      'expected a list of app names',
      'found "testapp" (string)',
    ]);
  });

  test('installed_apps holding a non-string is refused, naming the entry', () => {
    const b = newBench({ redisUrl: REDIS_URL, sites: { 's.test': { installed_apps: ['testapp', 3] } } });
    assertConfigError(() => loadSiteConfig(loadBenchConfig(b.path), 's.test'), siteFile(b, 's.test'), 'installed_apps', [
      'expected an app name',
      'found 3 (number)',
    ], 'installed_apps[1]');
  });

  test('a wrong type in a site config names the site file', () => {
    const b = newBench({ redisUrl: REDIS_URL, sites: { 's.test': { rq_results_ttl: 'soon' } } });
    assertConfigError(() => loadSiteConfig(loadBenchConfig(b.path), 's.test'), siteFile(b, 's.test'), 'rq_results_ttl', [
      'expected a whole number of seconds from 1 to',
      'found "soon" (string)',
    ]);
  });

  test('malformed JSON in a site config names the site file', () => {
    const b = newBench({ redisUrl: REDIS_URL, sites: { 's.test': {} } });
    writeFileSync(siteFile(b, 's.test'), '{ nope');
    assertConfigError(() => loadSiteConfig(loadBenchConfig(b.path), 's.test'), siteFile(b, 's.test'), undefined, [
      'malformed JSON',
    ]);
  });

  test('a top-level array in a site config is refused', () => {
    const b = newBench({ redisUrl: REDIS_URL, sites: { 's.test': {} } });
    writeFileSync(siteFile(b, 's.test'), '[]');
    assertConfigError(() => loadSiteConfig(loadBenchConfig(b.path), 's.test'), siteFile(b, 's.test'), undefined, [
      'expected a JSON object at the top level',
    ]);
  });
});

describe('queues', () => {
  test('built-in queues come first: short, default, long with 300, 300, 1500', () => {
    const bench = newBench();
    const config = loadBenchConfig(bench.path);
    assert.deepEqual(config.queues, [
      { name: 'short', timeout: 300 },
      { name: 'default', timeout: 300 },
      { name: 'long', timeout: 1500 },
    ]);
  });

  test('custom queues follow in file order with their timeouts (300 when unset)', () => {
    const bench = newBench({
      redisUrl: REDIS_URL,
      common: {
        workers: {
          zeta: { timeout: 50 },
          alpha: { background_workers: 2 },
          long: { timeout: 9000 },
          short: { background_workers: 3 },
          mid: { timeout: 7 },
        },
      },
    });
    const config = loadBenchConfig(bench.path);
    assert.deepEqual(config.queues, [
      { name: 'short', timeout: 300 },
      { name: 'default', timeout: 300 },
      { name: 'long', timeout: 9000 },
      { name: 'zeta', timeout: 50 },
      { name: 'alpha', timeout: 300 },
      { name: 'mid', timeout: 7 },
    ]);
  });

  test(
    'an all-digit custom queue name is refused (JSON would list it before the others)',
    () => {
      const bench = newBench({ redisUrl: REDIS_URL, common: {} });
      writeFileSync(commonFile(bench), '{"workers": {"zeta": {}, "2": {}}}');
      assert.throws(() => loadBenchConfig(bench.path), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'ERR_CONFIG_INVALID');
        assert.match((err as Error).message, /"workers\.2".*not digits only.*found "2"/);
        return true;
      });
    },
  );

  test('getQueueSpec returns the named queue', () => {
    const bench = newBench({ redisUrl: REDIS_URL, common: { workers: { reports: { timeout: 12 } } } });
    const config = loadBenchConfig(bench.path);
    assert.deepEqual(getQueueSpec(config, 'reports'), { name: 'reports', timeout: 12 });
    assert.deepEqual(getQueueSpec(config, 'long'), { name: 'long', timeout: 1500 });
  });

  test('getQueueSpec of an unknown queue is ERR_QUEUE_UNKNOWN listing the valid queues', () => {
    const bench = newBench({ redisUrl: REDIS_URL, common: { workers: { reports: {} } } });
    const config = loadBenchConfig(bench.path);
    const err = assertBenchError(() => getQueueSpec(config, 'nope'), 'ERR_QUEUE_UNKNOWN', [
      '"nope"',
      'short, default, long, reports',
    ]);
    assert.deepEqual(err.details['validQueues'], ['short', 'default', 'long', 'reports']);
  });

  test('getQueueSpec is case sensitive', () => {
    const config = loadBenchConfig(newBench().path);
    assertBenchError(() => getQueueSpec(config, 'Default'), 'ERR_QUEUE_UNKNOWN');
  });
});

describe('pathBenchId', () => {
  test('is the path without the leading "/" and other "/" turned into "-"', () => {
    assert.equal(pathBenchId('/home/frappe/frappe-bench'), 'home-frappe-frappe-bench');
  });

  test('drops trailing slashes too', () => {
    assert.equal(pathBenchId('/srv/bench/'), 'srv-bench');
    assert.equal(pathBenchId('//srv//bench//'), 'srv--bench');
  });

  test('the root folder gives "bench"', () => {
    assert.equal(pathBenchId('/'), 'bench');
  });

  test(
    'a bench folder whose path holds a space gets a default bench_id that keys.ts accepts',
    () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'bw space '));
      try {
        mkdirSync(path.join(dir, 'sites'));
        const config = loadBenchConfig(dir);
        assert.doesNotThrow(() => queueKeys(config.settings.bench_id, 'default'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test(
    'a bench_id with braces in common_site_config.json is refused at load, naming the file',
    () => {
      const bench = newBench();
      writeCommonRaw(bench, JSON.stringify({ bench_id: 'a{b}' }));
      assertConfigError(() => loadBenchConfig(bench.path), commonFile(bench), 'bench_id', ['a{b}']);
    },
  );
});

describe('findBenchPath', () => {
  test('an explicit path holding sites/ is returned as an absolute path', () => {
    const bench = newBench();
    assert.equal(findBenchPath(bench.path), bench.path);
    assert.equal(findBenchPath('.', bench.path), bench.path);
    assert.equal(findBenchPath(path.basename(bench.path), path.dirname(bench.path)), bench.path);
  });

  test('an explicit path without sites/ is ERR_BENCH_NOT_FOUND', () => {
    const bench = newBench();
    const apps = path.join(bench.path, 'apps');
    assertBenchError(() => findBenchPath(apps), 'ERR_BENCH_NOT_FOUND', [apps, 'no sites/ folder']);
  });

  test('an explicit path is not searched upwards', () => {
    const bench = newBench();
    // apps/testapp is inside a bench, but an explicit path must be the bench itself.
    assertBenchError(() => findBenchPath(path.join(bench.path, 'apps', 'testapp')), 'ERR_BENCH_NOT_FOUND');
  });

  test('an explicit path whose sites is a file is ERR_BENCH_NOT_FOUND', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-nobench-'));
    try {
      writeFileSync(path.join(dir, 'sites'), 'not a folder');
      assertBenchError(() => findBenchPath(dir), 'ERR_BENCH_NOT_FOUND');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('without an explicit path the bench is found from a nested subfolder', () => {
    const bench = newBench();
    const nested = path.join(bench.path, 'apps', 'testapp', 'testapp', 'nested');
    assert.equal(findBenchPath(undefined, nested), bench.path);
    assert.equal(findBenchPath(undefined, bench.path), bench.path);
  });

  test('without an explicit path and no bench above, ERR_BENCH_NOT_FOUND', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-nobench-'));
    try {
      const nested = path.join(dir, 'a', 'b');
      mkdirSync(nested, { recursive: true });
      // Precondition: no ancestor of the temp folder is a bench, else the search rightly finds it.
      for (let d = nested; ; d = path.dirname(d)) {
        assert.equal(existsSync(path.join(d, 'sites')), false, `${d}/sites exists: test environment is a bench`);
        if (path.dirname(d) === d) break;
      }
      assertBenchError(() => findBenchPath(undefined, nested), 'ERR_BENCH_NOT_FOUND', ['no bench found', nested]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
