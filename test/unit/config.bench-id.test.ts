// Saving the bench id (config/bench-id.ts): the new id's shape, agreement between concurrent saves, and
// the lock file: a held one makes a save wait, one left by a crash is taken over.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { newBenchId, saveBenchId } from '../../src/config/bench-id.ts';
import { loadBenchConfig } from '../../src/config/load.ts';
import { validateKnownKeys } from '../../src/config/validate.ts';
import { benchKeys } from '../../src/redis/keys.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';

const made: TestBench[] = [];
after(() => made.forEach((b) => b.remove()));

function unsaved(): TestBench {
  const bench = makeBench({ redisUrl: 'redis://127.0.0.1:11000', common: { bench_id: undefined } });
  made.push(bench);
  return bench;
}

const savedId = (bench: TestBench) => (JSON.parse(readFileSync(loadBenchConfig(bench.path).commonConfigFile, 'utf8')) as Record<string, unknown>)['bench_id'];

describe('newBenchId', () => {
  test('is "b" and 10 base32 characters, valid as bench_id and in key names, and new each time', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newBenchId()));
    assert.equal(ids.size, 200);
    for (const id of ids) {
      assert.match(id, /^b[a-z2-7]{10}$/);
      assert.deepEqual(validateKnownKeys({ bench_id: id }, 'common_site_config.json', false), []);
      assert.doesNotThrow(() => benchKeys(id));
    }
  });
});

describe('saveBenchId', () => {
  test('concurrent saves with different candidates all resolve to the one id written', async () => {
    const bench = unsaved();
    const config = loadBenchConfig(bench.path);
    const candidates = ['bfirst00000', 'bsecond0000', 'bthird00000', 'bfourth0000'];
    const got = await Promise.all(candidates.map((c) => saveBenchId(config, c)));
    const onDisk = savedId(bench);
    assert.ok(typeof onDisk === 'string' && candidates.includes(onDisk), `saved ${String(onDisk)}`);
    assert.deepEqual(got, candidates.map(() => onDisk));
    assert.equal(existsSync(`${config.commonConfigFile}.lock`), false);
    assert.equal(loadBenchConfig(bench.path).benchIdSaved, true);
  });

  test('keeps an id already saved', async () => {
    const bench = unsaved();
    bench.writeCommon({ bench_id: 'bkeepthis00' });
    assert.equal(await saveBenchId(loadBenchConfig(bench.path), 'bother00000'), 'bkeepthis00');
  });

  test('waits while another process holds the lock, then saves', async () => {
    const bench = unsaved();
    const config = loadBenchConfig(bench.path);
    const lock = `${config.commonConfigFile}.lock`;
    writeFileSync(lock, '');
    const saving = saveBenchId(config, 'bwaited0000');
    await delay(150);
    assert.equal(savedId(bench), undefined, 'nothing written while the lock is held');
    rmSync(lock);
    assert.equal(await saving, 'bwaited0000');
    assert.equal(savedId(bench), 'bwaited0000');
  });

  test('takes over a lock left by a crash', async () => {
    const bench = unsaved();
    const config = loadBenchConfig(bench.path);
    const lock = `${config.commonConfigFile}.lock`;
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    assert.equal(await saveBenchId(config, 'bstale00000'), 'bstale00000');
    assert.equal(existsSync(lock), false);
  });
});
