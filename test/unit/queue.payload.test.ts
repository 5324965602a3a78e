// Strict JSON for job kwargs, payload size limits, job ids and the job hash parser.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BenchError } from '../../src/errors.ts';
import { enqueueFieldPairs, jobFromHash, namespacedJobId, pairsToObject, siteOf } from '../../src/redis/job-record.ts';
import { checkPayloadSize, kwargsToJson } from '../../src/queue/payload.ts';

function assertInvalid(kwargs: unknown, parts: readonly string[]): void {
  assert.throws(
    () => kwargsToJson(kwargs, 'enqueue testapp.tasks.echo'),
    (err: unknown) => {
      assert.ok(err instanceof BenchError, `expected a BenchError, got ${String(err)}`);
      assert.equal(err.code, 'ERR_ENQUEUE_INVALID');
      assert.ok(err.message.startsWith('enqueue testapp.tasks.echo: '), err.message);
      for (const part of parts) assert.ok(err.message.includes(part), `message should include ${JSON.stringify(part)}: ${err.message}`);
      return true;
    },
  );
}

describe('kwargsToJson: accepted values', () => {
  test('nested plain objects, arrays, null, booleans, strings and finite numbers give the exact JSON', () => {
    const kwargs = {
      a: 1,
      b: -2.5,
      c: 'text "quoted" ünïcødé',
      d: true,
      e: false,
      f: null,
      g: [1, 'two', null, [3, { h: [] }]],
      i: { j: { k: { l: 0 } } },
      m: {},
      n: 1e21,
    };
    const json = kwargsToJson(kwargs, 'w');
    assert.equal(
      json,
      '{"a":1,"b":-2.5,"c":"text \\"quoted\\" ünïcødé","d":true,"e":false,"f":null,"g":[1,"two",null,[3,{"h":[]}]],"i":{"j":{"k":{"l":0}}},"m":{},"n":1e+21}',
    );
    assert.deepEqual(JSON.parse(json), kwargs);
  });

  test('undefined kwargs give "{}"', () => {
    assert.equal(kwargsToJson(undefined, 'w'), '{}');
  });

  test('an empty object gives "{}"', () => {
    assert.equal(kwargsToJson({}, 'w'), '{}');
  });

  test('an object without a prototype is plain', () => {
    const kwargs = Object.create(null) as Record<string, unknown>;
    kwargs['x'] = 1;
    assert.equal(kwargsToJson(kwargs, 'w'), '{"x":1}');
  });

  test('the same object referenced twice (not a cycle) is fine', () => {
    const shared = { v: 1 };
    assert.equal(kwargsToJson({ a: shared, b: [shared, shared] }, 'w'), '{"a":{"v":1},"b":[{"v":1},{"v":1}]}');
  });
});

describe('kwargsToJson: refused values name the path', () => {
  const cases: { name: string; kwargs: unknown; parts: string[] }[] = [
    { name: 'a function', kwargs: { a: [0, { b: () => 1 }] }, parts: ['kwargs.a[1].b', 'a function'] },
    { name: 'an undefined value', kwargs: { a: undefined }, parts: ['kwargs.a', 'is undefined'] },
    { name: 'undefined in an array', kwargs: { list: [1, undefined] }, parts: ['kwargs.list[1]'] },
    { name: 'a hole in an array', kwargs: { list: [1, , 3] }, parts: ['kwargs.list[1]'] },
    { name: 'a symbol', kwargs: { s: Symbol('x') }, parts: ['kwargs.s', 'a symbol'] },
    { name: 'a bigint', kwargs: { n: { big: 10n } }, parts: ['kwargs.n.big', 'a bigint'] },
    { name: 'NaN', kwargs: { x: NaN }, parts: ['kwargs.x is NaN'] },
    { name: 'Infinity', kwargs: { x: [Infinity] }, parts: ['kwargs.x[0] is Infinity'] },
    { name: '-Infinity', kwargs: { x: -Infinity }, parts: ['kwargs.x is -Infinity'] },
    { name: 'a Date', kwargs: { when: new Date(0) }, parts: ['kwargs.when', 'a Date', 'not plain JSON data'] },
    { name: 'a Map', kwargs: { m: new Map([[1, 2]]) }, parts: ['kwargs.m', 'a Map'] },
    { name: 'a Set', kwargs: { s: new Set() }, parts: ['kwargs.s', 'a Set'] },
    { name: 'a class instance', kwargs: { p: new (class Point { x = 1 })() }, parts: ['kwargs.p', 'a Point'] },
    { name: 'a boxed string', kwargs: { s: new String('x') }, parts: ['kwargs.s', 'a String'] },
    { name: 'a typed array', kwargs: { b: new Uint8Array(2) }, parts: ['kwargs.b', 'a Uint8Array'] },
    { name: 'a toJSON function', kwargs: { toJSON: () => 'x' }, parts: ['kwargs.toJSON', 'a function'] },
  ];
  for (const c of cases) {
    test(c.name, () => assertInvalid(c.kwargs, [...c.parts, 'kwargs must be JSON-serialisable']));
  }

  test('a circular object', () => {
    const a: Record<string, unknown> = { x: 1 };
    a['self'] = { back: a };
    assertInvalid(a, ['kwargs.self.back refers back to itself (circular)']);
  });

  test('a circular array', () => {
    const list: unknown[] = [1];
    list.push(list);
    assertInvalid({ list }, ['kwargs.list[1] refers back to itself (circular)']);
  });

  test('the first problem is reported', () => {
    assertInvalid({ ok: 1, first: NaN, second: () => 1 }, ['kwargs.first']);
  });

  for (const [name, kwargs, kind] of [
    ['a top-level array', [1, 2], 'a list'],
    ['a top-level string', 'text', 'a string'],
    ['a top-level number', 3, 'a number'],
    ['top-level null', null, 'null'],
    ['a top-level Date', new Date(0), 'a Date'],
    ['a top-level class instance', new (class Job {})(), 'a Job'],
  ] as const) {
    test(name, () => assertInvalid(kwargs, [`kwargs must be a JSON object, found ${kind}`]));
  }
});

describe('checkPayloadSize', () => {
  function assertTooLarge(json: string, limit: number, size: number): void {
    assert.throws(
      () => checkPayloadSize(json, limit, 'enqueue x'),
      (err: unknown) => {
        assert.ok(err instanceof BenchError);
        assert.equal(err.code, 'ERR_PAYLOAD_TOO_LARGE');
        assert.ok(err.message.includes(`${size} bytes`), err.message);
        assert.ok(err.message.includes(`limit of ${limit} bytes`), err.message);
        assert.ok(err.message.startsWith('enqueue x: '), err.message);
        assert.deepEqual(err.details, { size, limit });
        return true;
      },
    );
  }

  test('over the limit is ERR_PAYLOAD_TOO_LARGE naming both sizes', () => {
    assertTooLarge('{"a":"0123456789"}', 10, 18);
  });

  test('exactly at the limit is fine', () => {
    assert.doesNotThrow(() => checkPayloadSize('{"a":"0123456789"}', 18, 'w'));
  });

  test('one byte over the limit is refused', () => {
    assertTooLarge('{"a":"0123456789"}', 17, 18);
  });

  test('multi-byte characters count in bytes, not characters', () => {
    const json = '{"a":"éé€😀"}'; // 8 ASCII + 2 + 2 + 3 + 4 bytes; 12 UTF-16 units
    assert.equal(json.length, 13);
    assert.doesNotThrow(() => checkPayloadSize(json, 19, 'w'));
    assertTooLarge(json, 18, 19);
    assertTooLarge(json, 13, 19);
  });
});

describe('job ids', () => {
  test('namespacedJobId joins site and id with "||" and turns ":" into "|"', () => {
    assert.equal(namespacedJobId('s', 'a:b'), 's||a|b');
    assert.equal(namespacedJobId('site1.test', 'x:y:z'), 'site1.test||x|y|z');
    assert.equal(namespacedJobId('s', 'plain'), 's||plain');
  });

  test('siteOf gives the part before the first "||"', () => {
    assert.equal(siteOf('site1.test||abc'), 'site1.test');
    assert.equal(siteOf(namespacedJobId('s', 'a:b')), 's');
    assert.equal(siteOf('a||b||c'), 'a');
  });

  test('siteOf of an id without "||" is empty', () => {
    assert.equal(siteOf('abc'), '');
    assert.equal(siteOf('a|b'), '');
  });
});

const LONG = { name: 'long', timeout: 1500 };
const DEFAULT_Q = { name: 'default', timeout: 300 };

describe('jobFromHash', () => {
  const full = {
    method: 'testapp.tasks.echo',
    name: 'Nightly echo',
    kwargs: '{"a":[1,2]}',
    timeout: '1500',
    user: 'admin@example.com',
    status: 'failed',
    created: '1700000000000',
    started: '1700000000100',
    ended: '1700000000200',
    attempts: '2',
    stalls: '1',
    worker: 'w1',
    result: '{"ok":true}',
    error: '{"name":"Error","message":"boom"}',
    fttl: '604800',
  };

  test('parses numbers and JSON fields of an object hash', () => {
    assert.deepEqual(jobFromHash('site1.test||j1', LONG, full), {
      id: 'site1.test||j1',
      site: 'site1.test',
      queue: 'long',
      method: 'testapp.tasks.echo',
      jobName: 'Nightly echo',
      kwargs: { a: [1, 2] },
      timeout: 1500,
      user: 'admin@example.com',
      status: 'failed',
      createdAt: 1700000000000,
      startedAt: 1700000000100,
      endedAt: 1700000000200,
      attempts: 2,
      stalls: 1,
      worker: 'w1',
      result: { ok: true },
      error: { name: 'Error', message: 'boom' },
      failureTtl: 604800,
      event: undefined,
      onSuccess: undefined,
      onFailure: undefined,
      doctype: undefined,
      docname: undefined,
      runAt: undefined,
      retry: undefined,
      retries: 0,
      errors: [],
    });
  });

  test('a flat [field, value, ...] list parses the same as the object', () => {
    const flat = Object.entries(full).flat();
    assert.deepEqual(jobFromHash('site1.test||j1', LONG, flat), jobFromHash('site1.test||j1', LONG, full));
  });

  test('jobName defaults to the method; missing fields get defaults', () => {
    const job = jobFromHash('s||j2', DEFAULT_Q, { method: 'testapp.tasks.add', enq: '5' });
    assert.equal(job.jobName, 'testapp.tasks.add');
    assert.equal(job.site, 's');
    assert.equal(job.status, 'queued');
    assert.deepEqual(job.kwargs, {});
    assert.equal(job.timeout, 300, 'no timeout field: the queue default');
    assert.equal(job.createdAt, 5);
    assert.equal(job.startedAt, undefined);
    assert.equal(job.endedAt, undefined);
    assert.equal(job.user, undefined);
    assert.equal(job.worker, undefined);
    assert.equal(job.result, undefined);
    assert.equal(job.error, undefined);
    assert.equal(job.attempts, 0);
    assert.equal(job.stalls, 0);
  });

  test('a record written before 0.2 (created, a stored timeout) still parses', () => {
    const job = jobFromHash('s||old', DEFAULT_Q, { method: 'm.a.b', timeout: '300', created: '7', kwargs: '{"x":1}' });
    assert.equal(job.createdAt, 7);
    assert.equal(job.timeout, 300);
    assert.deepEqual(job.kwargs, { x: 1 });
  });

  test('a result that is JSON null parses to null, not undefined', () => {
    assert.equal(jobFromHash('s||j', DEFAULT_Q, { method: 'm', result: 'null' }).result, null);
  });

  test('a field that is not JSON is kept as text', () => {
    assert.equal(jobFromHash('s||j', DEFAULT_Q, { method: 'm', result: 'not json' }).result, 'not json');
  });

  test('the enqueue field pairs parse back through jobFromHash', () => {
    const pairs = enqueueFieldPairs({
      site: 's',
      queue: 'short',
      method: 'testapp.tasks.echo',
      jobName: 'testapp.tasks.echo',
      timeout: 30,
      queueTimeout: 300,
      user: undefined,
      failureTtl: 120,
    });
    assert.ok(!pairs.includes('name'), 'a job name equal to the method is not stored');
    assert.ok(!pairs.includes('user'));
    const plain = enqueueFieldPairs({ site: 's', queue: 'q', method: 'm.a.b', jobName: 'm.a.b', timeout: 1, queueTimeout: 300, user: undefined });
    assert.ok(!plain.includes('fttl'), 'no fttl unless the site overrides the bench');
    const usual = enqueueFieldPairs({ site: 's', queue: 'long', method: 'm.a.b', jobName: 'm.a.b', timeout: 1500, queueTimeout: 1500, user: undefined });
    assert.deepEqual(usual, ['method', 'm.a.b'], "a timeout equal to the queue's default is not stored");
    assert.equal(jobFromHash('s||z', LONG, usual).timeout, 1500);
    for (const given of ['site', 'queue', 'rttl']) assert.ok(!pairs.includes(given), `${given}: the id, the key or the config gives it`);
    const job = jobFromHash('s||x', { name: 'short', timeout: 300 }, pairs);
    assert.equal(job.site, 's');
    assert.equal(job.queue, 'short');
    assert.equal(job.jobName, 'testapp.tasks.echo');
    assert.equal(job.timeout, 30);
    assert.equal(job.failureTtl, 120);
    const named = jobFromHash(
      's||y',
      { name: 'q', timeout: 300 },
      enqueueFieldPairs({ site: 's', queue: 'q', method: 'm.a.b', jobName: 'Other', timeout: 1, queueTimeout: 300, user: 'u', failureTtl: 1 }),
    );
    assert.equal(named.jobName, 'Other');
    assert.equal(named.user, 'u');
  });

  test('pairsToObject ignores a dangling field without a value', () => {
    assert.deepEqual(pairsToObject(['a', '1', 'b']), { a: '1' });
  });
});
