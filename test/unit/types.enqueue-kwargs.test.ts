// Enqueueing by function reference types `kwargs` from the function's first parameter. The type
// checks below are the test: `npm test` type-checks this file first, and each `@ts-expect-error` line
// fails that check if the call it marks stops being an error. The runtime test runs one of the typed
// calls inline (now: true), with no Redis.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { BenchClient } from '../../src/index.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';

type Tasks = typeof import('../fixtures/apps/testapp/testapp/tasks.ts');

/** Compile-time only: never called. */
export function typedCalls(client: BenchClient, tasks: Tasks): void {
  void client.enqueue(tasks.add, { site: 's', kwargs: { a: 1, b: 2 } });
  // @ts-expect-error b must be a number
  void client.enqueue(tasks.add, { site: 's', kwargs: { a: 1, b: 'two' } });
  // @ts-expect-error b is missing
  void client.enqueue(tasks.add, { site: 's', kwargs: { a: 1 } });
  void client.enqueueIn(5, tasks.add, { site: 's', kwargs: { a: 1, b: 2 } });
  // @ts-expect-error a must be a number
  void client.enqueueAt(new Date(), tasks.add, { site: 's', kwargs: { a: '1', b: 2 } });
  void client.enqueueMany(tasks.add, [{ a: 1, b: 2 }], { site: 's' });
  // @ts-expect-error every entry is checked
  void client.enqueueMany(tasks.add, [{ a: 1, b: 2 }, { a: 1 }], { site: 's' });
  // A dotted path takes any JSON object.
  void client.enqueue('testapp.tasks.add', { site: 's', kwargs: { anything: true } });
}

const benches: TestBench[] = [];
after(() => {
  for (const b of benches) b.remove();
});

describe('kwargs typed from the method', () => {
  test('a typed call by function reference runs (now: true) and returns the result', async () => {
    const bench = makeBench({ redisUrl: 'redis://127.0.0.1:1' });
    benches.push(bench);
    const tasks = (await import(pathToFileURL(path.join(bench.path, 'apps', 'testapp', 'testapp', 'tasks.ts')).href)) as Tasks;
    const client = await BenchClient.open({ benchPath: bench.path, lazyConnect: true });
    try {
      assert.equal(await client.enqueue(tasks.add, { site: 'site1.test', now: true, kwargs: { a: 2, b: 3 } }), 5);
    } finally {
      await client.close();
    }
  });
});
