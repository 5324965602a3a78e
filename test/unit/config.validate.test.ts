// Config validation per key and per file: every key of the schema refuses a wrong-type value (a numeric
// string for a number key) and a value out of its range, naming the key; every problem of a file is
// reported at once, a nested one by its path; near misses of known keys are warned about, other unknown
// keys (Frappe's own) are not.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadBenchConfig, loadSiteConfig } from '../../src/config/load.ts';
import { editDistance, nearMiss } from '../../src/config/near-miss.ts';
import { KEY_SPECS, type KeyKind, type KeySpec } from '../../src/config/schema.ts';
import { validateKnownKeys, type ConfigProblem } from '../../src/config/validate.ts';
import { ConfigError } from '../../src/errors.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';

const FILE = '/bench/sites/common_site_config.json';
const benches: TestBench[] = [];
after(() => {
  for (const bench of benches) bench.remove();
});

/** A value of the wrong JSON type for each kind: adding a kind without a wrong value here fails to compile. */
const WRONG_TYPE: Record<KeyKind, unknown> = {
  string: 7,
  benchId: 42,
  redisUrl: 6379,
  int: undefined, // per key below: the numeric string of a valid value
  boolean: 'true',
  workers: 'email',
  appList: 'testapp',
  dbType: 1,
  postgresUrl: 5432,
  identifier: 12,
  flag: 'yes',
  timeZone: 3600,
  jobCap: 'four',
  hostPortList: '127.0.0.1:26379',
  redisUrlList: 'redis://127.0.0.1:7000',
  dashboardUsers: 'admin',
  nameList: 'customer',
  metricLabels: 'site',
};

const SPECS = Object.entries(KEY_SPECS) as [string, KeySpec][];

function refused(raw: Record<string, unknown>, isSite: boolean): ConfigError {
  let caught: ConfigError | undefined;
  assert.throws(
    () => validateKnownKeys(raw, FILE, isSite),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      caught = err;
      return true;
    },
  );
  return caught as ConfigError;
}

function assertRefusesNaming(key: string, value: unknown, isSite: boolean, found: string): void {
  const err = refused({ [key]: value }, isSite);
  assert.equal(err.code, 'ERR_CONFIG_INVALID');
  assert.equal(err.key, key);
  assert.ok(err.message.startsWith(`${FILE}: key "${key}`), err.message);
  assert.ok(err.message.includes(`found ${found}`), `${key}: ${err.message}`);
}

describe('every key refuses a value of the wrong type, naming the key', () => {
  for (const [key, spec] of SPECS) {
    const isSite = spec.siteOnly === true;
    if (spec.kind === 'int') {
      const range = spec.range;
      assert.ok(range, `${key} is an int key without a range`);
      const valid = range.min + 1;
      test(`${key}: the numeric string "${valid}" is refused`, () => assertRefusesNaming(key, String(valid), isSite, `"${valid}" (string)`));
      test(`${key}: ${range.max + 1} (over its maximum) and ${range.min - 1} (under its minimum) are refused; ${range.max} is accepted`, () => {
        assertRefusesNaming(key, range.max + 1, isSite, `${range.max + 1} (number)`);
        assertRefusesNaming(key, range.min - 1, isSite, `${range.min - 1} (number)`);
        assert.doesNotThrow(() => validateKnownKeys({ [key]: range.max }, FILE, isSite));
      });
      test(`${key}: a fraction and a non-finite number are refused`, () => {
        assertRefusesNaming(key, range.min + 0.5, isSite, `${range.min + 0.5} (number)`);
        assertRefusesNaming(key, null, isSite, 'null');
      });
    } else {
      const wrong = WRONG_TYPE[spec.kind];
      test(`${key} (${spec.kind}): ${JSON.stringify(wrong)} is refused`, () => {
        const err = refused({ [key]: wrong }, isSite);
        assert.equal(err.key, key);
        assert.ok(err.message.includes(`key "${key}"`), err.message);
      });
    }
  }

  test('the site-only key is refused in the common file', () => {
    const err = refused({ installed_apps: ['testapp'] }, false);
    assert.match(err.message, /key "installed_apps": belongs in sites\/<site>\/site_config.json/);
  });
});

describe('every problem of a file at once', () => {
  test('three bad keys and a bad nested value: one error listing all four in details.problems', () => {
    const err = refused({ rq_results_ttl: '600', use_rq_auth: 'yes', workers: { email: { timeout: '60', background_workers: 2 }, 'bad name': {} }, job_timeout_grace: 99999 }, false);
    const problems = err.details['problems'] as ConfigProblem[];
    assert.deepEqual(
      problems.map((p) => p.path),
      ['workers.email.timeout', 'workers.bad name', 'rq_results_ttl', 'job_timeout_grace', 'use_rq_auth'],
    );
    assert.match(err.message, /^\S+: 5 problems:\n/);
    for (const p of problems) assert.ok(err.message.includes(`  - key "${p.path}": ${p.problem}`), err.message);
    assert.equal(err.key, 'workers', 'the first problem key');
  });

  test('a nested type error names the nested value and what it found, not the whole object', () => {
    const err = refused({ workers: { email: { timeout: '60' } } }, false);
    assert.equal(err.message, `${FILE}: key "workers.email.timeout": expected a whole number of seconds from 1 to 2592000 (30 days), found "60" (string)`);
  });

  test('every bad entry of installed_apps is named by its index, a path-like name among them', () => {
    const err = refused({ installed_apps: ['testapp', '../outside', 'a/b', '', 'ok_app'] }, true);
    const paths = (err.details['problems'] as ConfigProblem[]).map((p) => p.path);
    assert.deepEqual(paths, ['installed_apps[1]', 'installed_apps[2]', 'installed_apps[3]']);
    assert.match(err.message, /found "\.\.\/outside"/);
  });

  test('a queue name with a control character is shown escaped', () => {
    const err = refused({ workers: { 'a\u001b[31mb': {} } }, false);
    assert.ok(!err.message.includes('\u001b'), JSON.stringify(err.message));
    assert.ok(err.message.includes('a\\x1b[31mb'), err.message);
  });
});

describe('near misses of known keys', () => {
  test('edit distance counts a swap of neighbours as one edit', () => {
    assert.equal(editDistance('background_workers', 'backgroud_workers'), 1);
    assert.equal(editDistance('workers', 'wokrers'), 1);
    assert.equal(editDistance('abc', 'abc'), 0);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('db_password', 'rq_password'), 2);
  });

  test('a typo of a known key is warned about, naming both; valid files and other unknown keys are quiet', () => {
    const warnings = validateKnownKeys({ backgroud_workers: 2, email_queue_batch_size: 500, db_password: 'x', db_name: 'site', _doc: 'note', redis_cache: 'redis://h:1' }, FILE, false);
    assert.deepEqual(warnings, [`${FILE}: key "backgroud_workers" is not one bench-worker knows (it is ignored): did you mean "background_workers"?`]);
  });

  for (const [typo, meant] of [
    ['Background_Workers', 'background_workers'],
    ['worker', 'workers'],
    ['redis_queu', 'redis_queue'],
    ['rq_result_ttl', 'rq_results_ttl'],
    ['installed_app', 'installed_apps'],
    ['db_typ', 'db_type'],
  ] as const) {
    test(`${typo} -> ${meant}`, () => assert.equal(nearMiss(typo, Object.keys(KEY_SPECS)), meant));
  }

  test('short and far names are not near misses: the allowed distance grows with the length', () => {
    const known = Object.keys(KEY_SPECS);
    for (const name of ['db', 'workerz_x', 'max_jobs', 'queue', 'redis', 'bench_path', 'db_password', 'db_host']) assert.equal(nearMiss(name, known), undefined, name);
  });

  test('a typo inside a workers entry is warned about too', () => {
    const warnings = validateKnownKeys({ workers: { email: { timout: 60 } } }, FILE, false);
    assert.deepEqual(warnings, [`${FILE}: key "workers.email.timout" is not one bench-worker knows (it is ignored): did you mean "timeout"?`]);
  });

  test('loading reports a near miss once per process as a ConfigWarning, and keeps it on the config', async () => {
    const bench = makeBench({ redisUrl: 'redis://127.0.0.1:1', common: { backgroud_workers: 2 }, sites: { 's.test': { instaled_apps: ['testapp'] } } });
    benches.push(bench);
    const seen: Error[] = [];
    const listener = (warning: Error) => seen.push(warning);
    process.on('warning', listener);
    try {
      const config = loadBenchConfig(bench.path);
      loadBenchConfig(bench.path);
      const site = loadSiteConfig(config, 's.test');
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      const file = path.join(bench.path, 'sites', 'common_site_config.json');
      assert.deepEqual(config.warnings, [`${file}: key "backgroud_workers" is not one bench-worker knows (it is ignored): did you mean "background_workers"?`]);
      assert.equal(site.warnings.length, 1);
      assert.match(site.warnings[0] as string, /"instaled_apps".*did you mean "installed_apps"/);
      const ours = seen.filter((w) => w.name === 'ConfigWarning');
      assert.deepEqual(ours.map((w) => w.message), [...config.warnings, ...site.warnings], 'each once, though the bench loaded twice');
      assert.deepEqual(ours.map((w) => (w as Error & { code?: string }).code), ['BENCH_CONFIG_UNKNOWN_KEY', 'BENCH_CONFIG_UNKNOWN_KEY']);
    } finally {
      process.off('warning', listener);
    }
  });

  test('a file with errors reports them, not its warnings', () => {
    const bench = makeBench({ redisUrl: 'redis://127.0.0.1:1' });
    benches.push(bench);
    writeFileSync(path.join(bench.path, 'sites', 'common_site_config.json'), JSON.stringify({ backgroud_workers: 2, background_workers: 0 }));
    assert.throws(() => loadBenchConfig(bench.path), /key "background_workers": expected a whole number from 1 to 1024, found 0/);
  });
});
