// Resolving dotted method paths to app module exports, every failure it names, and the reverse
// lookup from a function to its dotted path (methodPathOf).
import assert from 'node:assert/strict';
import fs, { mkdirSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { after, before, describe, mock, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { BenchError, JobLoadError } from '../../src/errors.ts';
import { methodPathOf } from '../../src/jobs/function-path.ts';
import { loadMethod, MODULE_EXTENSIONS, resolveMethodFile } from '../../src/jobs/loader.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';

let bench: TestBench;
let appsDir: string;
let moduleDir: string;

before(() => {
  bench = makeBench({ redisUrl: 'redis://127.0.0.1:1' });
  appsDir = path.join(bench.path, 'apps');
  moduleDir = path.join(appsDir, 'testapp', 'testapp');
  // Extra modules for this file only (in the throwaway bench, not the fixtures).
  writeFileSync(path.join(moduleDir, 'dup.ts'), 'export function which() { return "ts"; }\n');
  writeFileSync(path.join(moduleDir, 'dup.js'), 'export function which() { return "js"; }\n');
  writeFileSync(path.join(moduleDir, 'dup2.mjs'), 'export function which() { return "mjs"; }\n');
  writeFileSync(path.join(moduleDir, 'dup2.js'), 'export function which() { return "js"; }\n');
  writeFileSync(path.join(moduleDir, 'consts.ts'), 'export const answer = 42;\n');
  mkdirSync(path.join(appsDir, 'halfapp'));
});

after(() => bench.remove());

function fileOf(rel: string): string {
  return path.join(moduleDir, rel);
}

const NO_CTX = undefined as never;

/** Runs `fn` with fs.existsSync replaced by a counter, so a test can prove the file system was not touched. */
function countingExistsSync<T>(fn: () => T): { result: T | undefined; error: unknown; calls: number } {
  const spy = mock.method(fs, 'existsSync', () => false);
  syncBuiltinESMExports();
  try {
    return { result: fn(), error: undefined, calls: spy.mock.callCount() };
  } catch (error) {
    return { result: undefined, error, calls: spy.mock.callCount() };
  } finally {
    spy.mock.restore();
    syncBuiltinESMExports();
  }
}

function assertJobLoadError(err: unknown, parts: readonly string[]): JobLoadError {
  assert.ok(err instanceof JobLoadError, `expected a JobLoadError, got ${String(err)}`);
  assert.equal(err.code, 'ERR_JOB_LOAD');
  for (const part of parts) assert.ok(err.message.includes(part), `message should include ${JSON.stringify(part)}: ${err.message}`);
  return err;
}

async function rejectsWithJobLoad(promise: Promise<unknown>, parts: readonly string[]): Promise<JobLoadError> {
  let caught: JobLoadError | undefined;
  await assert.rejects(promise, (err: unknown) => {
    caught = assertJobLoadError(err, parts);
    return true;
  });
  assert.ok(caught);
  return caught;
}

describe('resolveMethodFile', () => {
  test('finds a .ts module', () => {
    assert.deepEqual(resolveMethodFile(appsDir, 'testapp.tasks.echo'), {
      method: 'testapp.tasks.echo',
      app: 'testapp',
      file: fileOf('tasks.ts'),
      exportName: 'echo',
    });
  });

  test('finds a .js module', () => {
    assert.equal(resolveMethodFile(appsDir, 'testapp.plain.hello').file, fileOf('plain.js'));
  });

  test('finds a .mjs module', () => {
    assert.equal(resolveMethodFile(appsDir, 'testapp.module.hi').file, fileOf('module.mjs'));
  });

  test('finds a nested module', () => {
    const location = resolveMethodFile(appsDir, 'testapp.nested.deep.work');
    assert.equal(location.file, fileOf(path.join('nested', 'deep.ts')));
    assert.equal(location.exportName, 'work');
    assert.equal(location.app, 'testapp');
  });

  test('extensions are tried in order .ts, .mjs, .js', () => {
    assert.deepEqual(MODULE_EXTENSIONS, ['.ts', '.mjs', '.js']);
    assert.equal(resolveMethodFile(appsDir, 'testapp.dup.which').file, fileOf('dup.ts'));
    assert.equal(resolveMethodFile(appsDir, 'testapp.dup2.which').file, fileOf('dup2.mjs'));
  });

  test('does not import the module (a broken module still resolves)', () => {
    assert.equal(resolveMethodFile(appsDir, 'testapp.broken.x').file, fileOf('broken.ts'));
  });

  test('a missing app folder is a JobLoadError naming the app', () => {
    assert.throws(
      () => resolveMethodFile(appsDir, 'ghost.tasks.run'),
      (err: unknown) => {
        const e = assertJobLoadError(err, ['"ghost"', 'not found', path.join(appsDir, 'ghost', 'ghost')]);
        assert.equal(e.details['app'], 'ghost');
        return true;
      },
    );
  });

  test('an app folder without its module folder is a JobLoadError naming the app', () => {
    assert.throws(
      () => resolveMethodFile(appsDir, 'halfapp.tasks.run'),
      (err: unknown) => {
        assertJobLoadError(err, ['"halfapp"', 'not found']);
        return true;
      },
    );
  });

  test('a missing module file is a JobLoadError naming every file tried', () => {
    assert.throws(
      () => resolveMethodFile(appsDir, 'testapp.nope.run'),
      (err: unknown) => {
        assertJobLoadError(err, [
          'module file not found',
          path.join('testapp', 'testapp', 'nope.ts'),
          path.join('testapp', 'testapp', 'nope.mjs'),
          path.join('testapp', 'testapp', 'nope.js'),
        ]);
        return true;
      },
    );
  });

  test('a missing nested module names the nested files tried', () => {
    assert.throws(
      () => resolveMethodFile(appsDir, 'testapp.nested.missing.run'),
      (err: unknown) => {
        assertJobLoadError(err, [path.join('testapp', 'testapp', 'nested', 'missing.ts')]);
        return true;
      },
    );
  });

  test('an app that is not installed is ERR_APP_NOT_INSTALLED', () => {
    assert.throws(
      () => resolveMethodFile(appsDir, 'testapp.tasks.echo', ['otherapp']),
      (err: unknown) => {
        assert.ok(err instanceof BenchError);
        assert.equal(err.code, 'ERR_APP_NOT_INSTALLED');
        assert.ok(err.message.includes('"testapp"'), err.message);
        assert.ok(err.message.includes('not installed'), err.message);
        assert.deepEqual(err.details['installedApps'], ['otherapp']);
        return true;
      },
    );
  });

  test('an installed app resolves', () => {
    assert.equal(resolveMethodFile(appsDir, 'otherapp.tasks.hello', ['otherapp']).app, 'otherapp');
  });

  test('an empty installed list refuses every app', () => {
    assert.throws(
      () => resolveMethodFile(appsDir, 'testapp.tasks.echo', []),
      (err: unknown) => err instanceof BenchError && err.code === 'ERR_APP_NOT_INSTALLED',
    );
  });

  const invalid = [
    'testapp..x',
    '../etc.passwd.x',
    'a.b',
    'a',
    '',
    'testapp.tasks.',
    '.testapp.tasks.echo',
    'testapp.sub/dir.x',
    'testapp.some-module.x',
    'testapp.tasks.some-fn',
    'test-app.tasks.x',
    'testapp.1tasks.x',
    'testapp.tasks.echo ',
    'testapp.\\tasks.x',
  ];
  for (const method of invalid) {
    test(`invalid path ${JSON.stringify(method)} is refused before touching the file system`, () => {
      const { error, calls } = countingExistsSync(() => resolveMethodFile(appsDir, method));
      assert.equal(calls, 0, 'existsSync was called');
      const e = assertJobLoadError(error, ['invalid method', `"${method}"`]);
      assert.deepEqual(e.details, { method });
    });
  }

  test('the file-system spy sees a valid path (so the check above can fail)', () => {
    const { calls } = countingExistsSync(() => resolveMethodFile(appsDir, 'testapp.tasks.echo'));
    assert.ok(calls > 0);
  });
});

describe('loadMethod', () => {
  test('loads an export of a .ts module', async () => {
    const fn = await loadMethod(appsDir, 'testapp.tasks.echo');
    assert.equal(typeof fn, 'function');
    assert.deepEqual(fn({ x: 1 }, NO_CTX), { x: 1 });
  });

  test('loads an export of a .js module', async () => {
    const fn = await loadMethod(appsDir, 'testapp.plain.hello');
    assert.equal(fn({ name: 'Ada' }, NO_CTX), 'hello Ada');
  });

  test('loads an export of a .mjs module', async () => {
    const fn = await loadMethod(appsDir, 'testapp.module.hi');
    assert.equal(fn({}, NO_CTX), 'hi from mjs');
  });

  test('loads an export of a nested module', async () => {
    const fn = await loadMethod(appsDir, 'testapp.nested.deep.work');
    assert.deepEqual(fn({ x: 5 }, NO_CTX), { deep: 5 });
  });

  test('loads the .ts module when a .js one of the same name exists', async () => {
    const fn = await loadMethod(appsDir, 'testapp.dup.which');
    assert.equal(fn({}, NO_CTX), 'ts');
  });

  test('loads from an installed app and refuses one that is not installed', async () => {
    const fn = await loadMethod(appsDir, 'otherapp.tasks.hello', ['otherapp', 'testapp']);
    assert.equal(fn({}, NO_CTX), 'hello from otherapp');
    await assert.rejects(loadMethod(appsDir, 'otherapp.tasks.hello', ['testapp']), (err: unknown) => {
      assert.ok(err instanceof BenchError);
      assert.equal(err.code, 'ERR_APP_NOT_INSTALLED');
      assert.ok(!(err instanceof JobLoadError));
      return true;
    });
  });

  test('a missing app is a JobLoadError naming the app', async () => {
    await rejectsWithJobLoad(loadMethod(appsDir, 'ghost.tasks.run'), ['app "ghost" not found']);
  });

  test('a missing file is a JobLoadError naming the files tried', async () => {
    await rejectsWithJobLoad(loadMethod(appsDir, 'testapp.nope.run'), [
      path.join('testapp', 'testapp', 'nope.ts'),
      path.join('testapp', 'testapp', 'nope.js'),
    ]);
  });

  test('a missing export is a JobLoadError listing the exported functions', async () => {
    const err = await rejectsWithJobLoad(loadMethod(appsDir, 'testapp.tasks.nope'), [
      'no export "nope"',
      fileOf('tasks.ts'),
      'exported functions:',
      'echo',
      'add',
      'record',
    ]);
    assert.ok(!err.message.includes('notAFunction'), `only functions are listed: ${err.message}`);
    assert.equal(err.details['exportName'], 'nope');
  });

  test('a module exporting no function says "none"', async () => {
    await rejectsWithJobLoad(loadMethod(appsDir, 'testapp.consts.run'), ['exported functions: none']);
  });

  test('an export that is not a function is a JobLoadError saying what it is', async () => {
    await rejectsWithJobLoad(loadMethod(appsDir, 'testapp.tasks.notAFunction'), [
      'export "notAFunction"',
      'is a number, not a function',
    ]);
  });

  test('inherited names are not exports of an .mjs module', async () => {
    await rejectsWithJobLoad(loadMethod(appsDir, 'testapp.module.toString'), ['no export "toString"']);
    await rejectsWithJobLoad(loadMethod(appsDir, 'testapp.module.constructor'), ['no export "constructor"']);
  });

  test(
    'inherited names are not exports of a .ts module in a folder without "type": "module"',
    async () => {
      await rejectsWithJobLoad(loadMethod(appsDir, 'testapp.tasks.toString'), ['no export "toString"']);
      await rejectsWithJobLoad(loadMethod(appsDir, 'testapp.tasks.constructor'), ['no export "constructor"']);
      await rejectsWithJobLoad(loadMethod(appsDir, 'testapp.plain.hasOwnProperty'), ['no export "hasOwnProperty"']);
    },
  );

  test('a module that throws on import is a JobLoadError carrying its message and cause', async () => {
    const err = await rejectsWithJobLoad(loadMethod(appsDir, 'testapp.broken.x'), [
      'importing',
      fileOf('broken.ts'),
      'broken module',
    ]);
    assert.ok(err.cause instanceof Error);
    assert.equal((err.cause as Error).message, 'broken module');
    assert.equal(err.details['file'], fileOf('broken.ts'));
  });

  for (const method of ['testapp..x', '../etc.passwd.x', 'a.b', 'testapp.a/b.x', 'testapp.a-b.x']) {
    test(`invalid path ${JSON.stringify(method)} rejects with a JobLoadError`, async () => {
      await rejectsWithJobLoad(loadMethod(appsDir, method), ['invalid method']);
    });
  }
});

describe('methodPathOf', () => {
  async function importFixture(rel: string): Promise<Record<string, unknown>> {
    return (await import(pathToFileURL(path.join(moduleDir, rel)).href)) as Record<string, unknown>;
  }

  test('finds the dotted path of an exported function', async () => {
    const mod = await importFixture('tasks.ts');
    const echo = mod['echo'] as () => unknown;
    assert.equal(await methodPathOf(echo, appsDir, ['testapp', 'otherapp']), 'testapp.tasks.echo');
    // Cached second call gives the same answer.
    assert.equal(await methodPathOf(echo, appsDir, ['testapp', 'otherapp']), 'testapp.tasks.echo');
  });

  test('finds functions of nested modules, .mjs and .js modules and other apps', async () => {
    const deep = (await importFixture(path.join('nested', 'deep.ts')))['work'] as () => unknown;
    const hi = (await importFixture('module.mjs'))['hi'] as () => unknown;
    const hello = (await importFixture('plain.js'))['hello'] as () => unknown;
    const other = (await import(pathToFileURL(path.join(appsDir, 'otherapp', 'otherapp', 'tasks.ts')).href)) as Record<
      string,
      unknown
    >;
    assert.equal(await methodPathOf(deep, appsDir, ['testapp']), 'testapp.nested.deep.work');
    assert.equal(await methodPathOf(hi, appsDir, ['testapp']), 'testapp.module.hi');
    assert.equal(await methodPathOf(hello, appsDir, ['testapp']), 'testapp.plain.hello');
    assert.equal(await methodPathOf(other['hello'] as () => unknown, appsDir, ['testapp', 'otherapp']), 'otherapp.tasks.hello');
  });

  test('the dotted path it gives loads back to the same function', async () => {
    const add = (await importFixture('tasks.ts'))['add'] as () => unknown;
    const method = await methodPathOf(add, appsDir, ['testapp']);
    assert.equal(await loadMethod(appsDir, method), add);
  });

  test('a function exported by no module is a JobLoadError naming it', async () => {
    function notExported() {
      return 1;
    }
    await rejectsWithJobLoad(methodPathOf(notExported, appsDir, ['testapp', 'otherapp']), [
      '"notExported"',
      'is not exported by any module',
    ]);
  });

  test('an anonymous function exported by no module is a JobLoadError', async () => {
    await rejectsWithJobLoad(methodPathOf(() => 1, appsDir, ['testapp']), ['(anonymous)']);
  });

  test('a function of an app not in the list is not found', async () => {
    // A fresh bench, so no earlier lookup has cached this function's path.
    const fresh = makeBench({ redisUrl: 'redis://127.0.0.1:1' });
    try {
      const freshApps = path.join(fresh.path, 'apps');
      const mod = (await import(pathToFileURL(path.join(freshApps, 'otherapp', 'otherapp', 'tasks.ts')).href)) as Record<
        string,
        unknown
      >;
      await rejectsWithJobLoad(methodPathOf(mod['hello'] as () => unknown, freshApps, ['testapp']), [
        '"hello"',
        'is not exported by any module',
      ]);
    } finally {
      fresh.remove();
    }
  });

  test('a missing app folder in the list is skipped, not an error', async () => {
    const echo = (await importFixture('tasks.ts'))['echo'] as () => unknown;
    assert.equal(await methodPathOf(echo, appsDir, ['ghost', 'testapp']), 'testapp.tasks.echo');
  });
});
