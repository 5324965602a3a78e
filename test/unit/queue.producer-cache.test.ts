// The producer's config and method cache: entries are trusted for RECHECK_MS, then checked against
// their files; an edit to common_site_config.json, a site_config.json or a module file is seen on the
// first call after that, a new module file at once (failures are never cached).
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadBenchConfig } from '../../src/config/load.ts';
import { isBenchError } from '../../src/errors.ts';
import { ProducerCache, RECHECK_MS } from '../../src/queue/producer-cache.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';

const SITE = 'site1.test';
const benches: TestBench[] = [];

function setup(): { bench: TestBench; cache: ProducerCache; t0: number } {
  const bench = makeBench({ redisUrl: 'redis://127.0.0.1:1', sites: { [SITE]: { rq_job_failure_ttl: 111 } } });
  benches.push(bench);
  return { bench, cache: new ProducerCache(loadBenchConfig(bench.path)), t0: Date.now() };
}

after(() => {
  for (const b of benches) b.remove();
});

describe('ProducerCache', () => {
  test('a site_config.json edit is seen once the entry is due for a check, not before', () => {
    const { bench, cache, t0 } = setup();
    assert.equal(cache.site(SITE, t0).settings.rq_job_failure_ttl, 111);
    bench.writeSite(SITE, { rq_job_failure_ttl: 22222 });
    assert.equal(cache.site(SITE, t0 + RECHECK_MS / 2).settings.rq_job_failure_ttl, 111, 'trusted within the recheck window');
    assert.equal(cache.site(SITE, t0 + RECHECK_MS).settings.rq_job_failure_ttl, 22222);
  });

  test('a common_site_config.json edit reaches the bench and every site', () => {
    const { bench, cache, t0 } = setup();
    assert.equal(cache.site(SITE, t0).settings.max_job_payload_bytes, cache.bench(t0).settings.max_job_payload_bytes);
    bench.writeCommon({ max_job_payload_bytes: 4321, workers: { reports: { timeout: 60 } } });
    const later = t0 + RECHECK_MS;
    assert.equal(cache.bench(later).settings.max_job_payload_bytes, 4321);
    assert.ok(cache.bench(later).queues.some((q) => q.name === 'reports'));
    assert.equal(cache.site(SITE, later).settings.max_job_payload_bytes, 4321);
  });

  test('an unchanged entry is kept (same object) after its check', () => {
    const { cache, t0 } = setup();
    const first = cache.site(SITE, t0);
    assert.equal(cache.site(SITE, t0 + RECHECK_MS * 3), first);
  });

  test('a malformed config edit is reported on the next call, naming the file', () => {
    const { bench, cache, t0 } = setup();
    cache.site(SITE, t0);
    const file = path.join(bench.path, 'sites', SITE, 'site_config.json');
    writeFileSync(file, '{ "rq_job_failure_ttl": ');
    assert.throws(() => cache.site(SITE, t0 + RECHECK_MS), (err: unknown) => isBenchError(err) && err.message.includes(file));
  });

  test('a new module file resolves at once; a removed one is refused after the check', () => {
    const { bench, cache, t0 } = setup();
    const site = cache.site(SITE, t0);
    const file = path.join(bench.path, 'apps', 'testapp', 'testapp', 'fresh.mjs');
    assert.throws(() => cache.method(site, 'testapp.fresh.run', t0), (err: unknown) => isBenchError(err) && err.code === 'ERR_JOB_LOAD');
    writeFileSync(file, 'export function run() { return 1; }\n');
    assert.equal(cache.method(site, 'testapp.fresh.run', t0).file, file);
    rmSync(file);
    assert.equal(cache.method(site, 'testapp.fresh.run', t0 + 1).file, file, 'trusted within the recheck window');
    assert.throws(() => cache.method(site, 'testapp.fresh.run', t0 + RECHECK_MS), (err: unknown) => isBenchError(err) && err.code === 'ERR_JOB_LOAD');
  });

  test('verify checks the export; an export added to the file later is seen once the entry is due', async () => {
    const { bench, cache, t0 } = setup();
    const site = cache.site(SITE, t0);
    const file = path.join(bench.path, 'apps', 'testapp', 'testapp', 'grows.mjs');
    writeFileSync(file, 'export function first() { return 1; }\n');
    await cache.verify(site, 'testapp.grows.first', t0);
    await assert.rejects(async () => cache.verify(site, 'testapp.grows.second', t0), (err: unknown) => isBenchError(err) && err.code === 'ERR_JOB_LOAD' && err.message.includes('no export "second"'));
    writeFileSync(file, 'export function first() { return 1; }\nexport function second() { return 2; }\n');
    await cache.verify(site, 'testapp.grows.second', t0 + RECHECK_MS);
    await assert.rejects(async () => cache.verify(site, 'testapp.tasks.notAFunction', t0 + RECHECK_MS), (err: unknown) => isBenchError(err) && err.message.includes('not a function'));
  });

  test('a new app folder reaches a site without installed_apps (it gets every app)', () => {
    const { bench, cache, t0 } = setup();
    assert.ok(!cache.site(SITE, t0).installedApps.includes('newapp'));
    mkdirSync(path.join(bench.path, 'apps', 'newapp', 'newapp'), { recursive: true });
    assert.ok(cache.site(SITE, t0 + RECHECK_MS).installedApps.includes('newapp'));
  });

  test('a site whose installed_apps changed re-checks its methods', () => {
    const { bench, cache, t0 } = setup();
    assert.equal(cache.method(cache.site(SITE, t0), 'testapp.tasks.echo', t0).app, 'testapp');
    bench.writeSite(SITE, { installed_apps: ['otherapp'] });
    const later = t0 + RECHECK_MS;
    assert.throws(() => cache.method(cache.site(SITE, later), 'testapp.tasks.echo', later), (err: unknown) => isBenchError(err) && err.code === 'ERR_APP_NOT_INSTALLED');
  });
});
