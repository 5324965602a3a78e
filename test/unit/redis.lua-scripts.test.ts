// The Lua scripts' own conventions (header, key count from the file name, includes) and the key
// names they run on (one hash tag per queue).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchError } from '../../src/errors.ts';
import { benchKeys, KEY_ROOT, queueKeys, WAIT_HOLE } from '../../src/redis/keys.ts';
import { loadScriptSources, type ScriptSource } from '../../src/redis/scripts.ts';
import { ScriptCode } from '../../src/redis/codes.ts';
import { CLAIM_FIELDS } from '../../src/redis/job-record.ts';

const SRC_REDIS = fileURLToPath(new URL('../../src/redis/', import.meta.url));
const LUA_DIR = path.join(SRC_REDIS, 'lua');
const LUA_FILES = readdirSync(LUA_DIR)
  .filter((f) => f.endsWith('.lua'))
  .sort();
const INCLUDE_FILES = readdirSync(path.join(LUA_DIR, 'includes'))
  .filter((f) => f.endsWith('.lua'))
  .sort();

/** Lua source without comments: block comments first, then line comments. */
function stripComments(lua: string): string {
  return lua.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--[^\n]*/g, '');
}

function keyIndexes(code: string): number[] {
  return [...code.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
}

function sourceOf(file: string): ScriptSource {
  const name = file.replace(/(-\d+)?\.lua$/, '');
  const source = loadScriptSources().find((s) => s.name === name);
  assert.ok(source, `no loaded script for ${file}`);
  return source;
}

test('there are Lua scripts to check', () => {
  assert.ok(LUA_FILES.length >= 6, `found ${LUA_FILES.join(', ')}`);
  assert.ok(INCLUDE_FILES.length >= 2, `found includes ${INCLUDE_FILES.join(', ')}`);
});

describe('every Lua script', () => {
  for (const file of LUA_FILES) {
    describe(file, () => {
      const raw = readFileSync(path.join(LUA_DIR, file), 'utf8');

      test('opens with a --[[ header documenting Input and Output', () => {
        assert.ok(raw.startsWith('--[['), 'the file must start with a --[[ block comment');
        const end = raw.indexOf(']]');
        assert.ok(end > 0, 'the header block is not closed');
        const header = raw.slice(0, end);
        assert.ok(header.includes('Input'), 'header has no "Input" section');
        assert.ok(header.includes('Output'), 'header has no "Output" section');
      });

      const fixed = /-(\d+)\.lua$/.exec(file);
      if (fixed) {
        const n = Number(fixed[1]);
        test(`uses KEYS[1..${n}] and no KEYS index above ${n}`, () => {
          const code = stripComments(sourceOf(file).lua);
          const used = new Set(keyIndexes(code));
          assert.ok(used.has(n), `KEYS[${n}] is not used`);
          for (let i = 1; i <= n; i++) assert.ok(used.has(i), `KEYS[${i}] is not used`);
          assert.deepEqual(
            [...used].filter((i) => i > n || i < 1),
            [],
            `KEYS indexes outside 1..${n}`,
          );
          assert.doesNotMatch(code, /KEYS\[(?!\d+\])/, 'a computed KEYS index in a fixed-key script');
          assert.doesNotMatch(code, /#KEYS/, 'a fixed-key script should not depend on #KEYS');
        });

        test(`is registered with numberOfKeys ${n}`, () => {
          assert.equal(sourceOf(file).numberOfKeys, n);
        });
      } else {
        test('takes a variable key count', () => {
          assert.match(file, /^[A-Za-z]+\.lua$/);
          assert.equal(sourceOf(file).numberOfKeys, undefined);
          assert.match(stripComments(sourceOf(file).lua), /#KEYS/);
        });
      }

      test('has every --@include expanded, each helper defined before its first use', () => {
        const lua = sourceOf(file).lua;
        assert.ok(!lua.includes('--@include'), 'an --@include line was left in the script');
        const included = [...raw.matchAll(/^--@include "([A-Za-z0-9_-]+)"\s*$/gm)].map((m) => m[1] as string);
        for (const name of included) {
          const text = readFileSync(path.join(LUA_DIR, 'includes', `${name}.lua`), 'utf8');
          assert.ok(lua.includes(text), `include "${name}" is not in the expanded script`);
        }
        const code = stripComments(lua);
        for (const fn of ['nowMs', 'requeueOrAbandon']) {
          const firstCall = code.search(new RegExp(`(?<!function )\\b${fn}\\(`));
          if (firstCall === -1) continue;
          const definition = code.indexOf(`local function ${fn}(`);
          assert.ok(definition !== -1, `${fn} is called but not defined (missing --@include?)`);
          assert.ok(definition < firstCall, `${fn} is called before it is defined`);
        }
      });
    });
  }
});

describe('tables shared by Lua and TypeScript', () => {
  const include = (name: string) => stripComments(readFileSync(path.join(LUA_DIR, 'includes', `${name}.lua`), 'utf8'));

  test('includes/codes.lua holds the reply codes of src/redis/codes.ts, name for name', () => {
    const pairs = [...include('codes').matchAll(/([A-Z_]+)\s*=\s*(-?\d+)/g)].map((m) => [m[1], Number(m[2])]);
    assert.deepEqual(Object.fromEntries(pairs), ScriptCode);
  });

  test('the reply codes are distinct', () => {
    const values = Object.values(ScriptCode);
    assert.equal(new Set(values).size, values.length);
  });

  test('includes/claimFields.lua lists CLAIM_FIELDS of src/redis/job-record.ts, in order', () => {
    const fields = [...include('claimFields').matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1]);
    assert.deepEqual(fields, [...CLAIM_FIELDS]);
  });

  test('includes/holes.lua marks a hole in a wait list with WAIT_HOLE of src/redis/keys.ts, never a job id', () => {
    assert.equal(/local HOLE = '([^']*)'/.exec(include('holes'))?.[1], WAIT_HOLE);
    assert.doesNotMatch(WAIT_HOLE, /\|\|/, 'a job id is "SITE||ID"');
    assert.doesNotMatch(WAIT_HOLE, /^[A-Za-z0-9]/, 'a site name starts with a letter or digit');
  });

  test('no script returns a bare number where a named code belongs', () => {
    for (const file of LUA_FILES) {
      const code = stripComments(sourceOf(file).lua);
      assert.doesNotMatch(code, /return\s+-?\d+\s*$/m, `${file} returns a bare integer`);
      assert.doesNotMatch(code, /return\s*\{\s*-?\d+\s*[,}]/, `${file} returns a bare integer in a table`);
    }
  });
});

describe('loadScriptSources', () => {
  test('loads one script per Lua file, named without the key-count suffix', () => {
    const names = loadScriptSources()
      .map((s) => s.name)
      .sort();
    assert.deepEqual(
      names,
      LUA_FILES.map((f) => f.replace(/(-\d+)?\.lua$/, '')).sort(),
    );
    assert.equal(new Set(names).size, names.length, 'two scripts share a name');
  });

  test('does not load the includes as scripts', () => {
    const names = loadScriptSources().map((s) => s.name);
    for (const inc of INCLUDE_FILES) assert.ok(!names.includes(inc.replace(/\.lua$/, '')), `${inc} loaded as a script`);
  });

  describe('on a copy of scripts.ts with its own lua/ folder', () => {
    const dirs: string[] = [];
    after(() => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    /** Copies src/redis/scripts.ts next to a lua/ folder holding `files`, and imports the copy. */
    async function loaderWith(files: Record<string, string>): Promise<typeof loadScriptSources> {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-lua-'));
      dirs.push(dir);
      writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}\n');
      copyFileSync(path.join(SRC_REDIS, 'scripts.ts'), path.join(dir, 'scripts.ts'));
      mkdirSync(path.join(dir, 'lua', 'includes'), { recursive: true });
      for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, 'lua', name), text);
      const mod = (await import(pathToFileURL(path.join(dir, 'scripts.ts')).href)) as { loadScriptSources: typeof loadScriptSources };
      return mod.loadScriptSources;
    }

    test('an include that exists is expanded in place', async () => {
      const load = await loaderWith({
        'includes/helper.lua': 'local function helper() return 1 end\n',
        'thing-1.lua': '--[[ Input: KEYS[1]. Output: 1 ]]\n--@include "helper"\nreturn helper()\n',
      });
      assert.deepEqual(load(), [
        {
          name: 'thing',
          numberOfKeys: 1,
          lua: '--[[ Input: KEYS[1]. Output: 1 ]]\nlocal function helper() return 1 end\n\nreturn helper()\n',
        },
      ]);
    });

    test('an include that does not exist throws naming the script and the include', async () => {
      const load = await loaderWith({
        'thing.lua': '--[[ Input, Output ]]\n--@include "nowhere"\nreturn 1\n',
      });
      assert.throws(() => load(), /thing\.lua: cannot include "nowhere"/);
    });

    test('a badly named script throws', async () => {
      const load = await loaderWith({ 'bad_name.lua': 'return 1\n' });
      assert.throws(() => load(), /badly named Lua script bad_name\.lua/);
    });
  });
});

describe('keys', () => {
  /** The hash tag Redis Cluster uses: between the first "{" and the next "}". */
  function hashTag(key: string): string | undefined {
    const open = key.indexOf('{');
    if (open === -1) return undefined;
    const close = key.indexOf('}', open + 1);
    if (close === -1 || close === open + 1) return undefined;
    return key.slice(open + 1, close);
  }

  test('every key of a queue carries the hash tag {bench:queue}', () => {
    const keys = queueKeys('b', 'q');
    assert.equal(keys.queue, 'q');
    assert.equal(keys.prefix, `${KEY_ROOT}:{b:q}:`);
    const all = [
      keys.prefix,
      keys.wait,
      keys.lane('site1.test'),
      keys.lane('x{y}z'),
      keys.sites,
      keys.turns,
      keys.running,
      keys.queued,
      keys.active,
      keys.marker,
      keys.finished,
      keys.failed,
      keys.delayed,
      keys.owners,
      keys.reaperLock,
      keys.job('j1'),
      keys.job('site||a|b'),
      keys.job('x{y}z'),
    ];
    for (const key of all) {
      assert.ok(key.includes('{b:q}'), `${key} lacks {b:q}`);
      assert.equal(hashTag(key), 'b:q', `${key} hashes on another tag`);
    }
    assert.equal(keys.job('j1'), 'bw:{b:q}:job:j1');
  });

  test('the keys of one queue are all different', () => {
    const keys = queueKeys('b', 'q');
    const names = [keys.wait, keys.lane('s1'), keys.lane('s2'), keys.sites, keys.turns, keys.running, keys.queued, keys.active, keys.marker, keys.finished, keys.failed, keys.reaperLock, keys.job('1')];
    assert.equal(new Set(names).size, names.length);
  });

  test('two queues of one bench, or one queue of two benches, do not share keys', () => {
    assert.notEqual(queueKeys('b', 'q').wait, queueKeys('b', 'r').wait);
    assert.notEqual(queueKeys('b', 'q').wait, queueKeys('c', 'q').wait);
    assert.notEqual(queueKeys('b', 'q').lane('s'), queueKeys('b', 'r').lane('s'));
    assert.notEqual(queueKeys('b', 'q').lane('s'), queueKeys('c', 'q').lane('s'));
  });

  test('bench keys carry the hash tag {bench}', () => {
    const keys = benchKeys('b');
    assert.equal(hashTag(keys.workers), 'b');
    assert.equal(hashTag(keys.worker('w1')), 'b');
    assert.notEqual(keys.worker('w1'), keys.worker('w2'));
  });

  for (const benchId of ['a{b', 'a}b', '{b}', 'a b', 'a\tb', 'a\nb']) {
    test(`bench_id ${JSON.stringify(benchId)} is refused`, () => {
      for (const make of [() => queueKeys(benchId, 'q'), () => benchKeys(benchId)]) {
        assert.throws(make, (err: unknown) => {
          assert.ok(err instanceof BenchError);
          assert.equal(err.code, 'ERR_CONFIG_INVALID');
          assert.ok(err.message.includes('must not contain braces or spaces'), err.message);
          return true;
        });
      }
    });
  }

  test('a bench_id with dots, dashes and colons is accepted', () => {
    assert.doesNotThrow(() => queueKeys('home-frappe-frappe-bench', 'default'));
    assert.doesNotThrow(() => benchKeys('a.b-c:d'));
  });
});
