// The redis_queue URL is checked whole before anything connects: scheme, host, port range, database
// 0-15 (Redis's default "databases 16"), the TLS options of rediss://; and the client options are
// built from the same parse (database, IPv6 host, credentials, TLS files).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseRedisUrl } from '../../src/config/redis-url.ts';
import { DEFAULTS, type BenchSettings } from '../../src/config/schema.ts';
import { validateKnownKeys } from '../../src/config/validate.ts';
import { ConfigError } from '../../src/errors.ts';
import { redisOptionsFor } from '../../src/redis/connection.ts';

const FILE = '/bench/sites/common_site_config.json';
const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-tls-'));
const CA = path.join(dir, 'ca.pem');
const CERT = path.join(dir, 'client.pem');
const KEY = path.join(dir, 'client.key');
writeFileSync(CA, 'ca-bytes');
writeFileSync(CERT, 'cert-bytes');
writeFileSync(KEY, 'key-bytes');
after(() => rmSync(dir, { recursive: true, force: true }));

function settings(url: string, extra: Partial<BenchSettings> = {}): BenchSettings {
  return { ...DEFAULTS, bench_id: 'b', redis_queue: url, ...extra };
}

function problemsOf(url: unknown): string {
  try {
    validateKnownKeys({ redis_queue: url }, FILE, false);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.key, 'redis_queue');
    assert.ok(err.message.includes(FILE) && err.message.includes('"redis_queue"'), err.message);
    return err.message;
  }
  return '';
}

describe('redis_queue validation', () => {
  for (const [url, parts] of [
    ['redis://127.0.0.1:6379/99', ['a database number from 0 to 15', 'databases 16', 'found path "/99"']],
    ['redis://127.0.0.1:6379/16', ['from 0 to 15', 'found path "/16"']],
    ['redis://127.0.0.1:6379/abc', ['a database number', 'found path "/abc"']],
    ['redis://127.0.0.1:6379/1/2', ['found path "/1/2"']],
    ['redis://127.0.0.1:6379/-1', ['found path "/-1"']],
    ['redis://127.0.0.1:0', ['a port from 1 to 65535', 'found port 0']],
    ['redis://127.0.0.1:99999', ['a redis:// or rediss:// URL']],
    ['redis:///3', ['a host name or address', 'found none']],
    ['redis://', ['a host name']],
    ['http://127.0.0.1:6379', ['found scheme "http"']],
    ['unix:///tmp/redis.sock', ['found scheme "unix"']],
    ['redis://h:1/0#x', ['no "#" fragment']],
    ['redis://h:1/0?ssl_cert_reqs=none', ['rediss:// (TLS) for option ssl_cert_reqs', 'found redis://']],
    ['redis://h:1/0?timeout=5', ['one of the options ssl_ca_certs', 'found option "timeout"']],
    ['rediss://h:1/0?ssl_cert_reqs=maybe', ['ssl_cert_reqs to be "required" or "none"', 'found "maybe"']],
    ['rediss://h:1/0?ssl_check_hostname=no', ['ssl_check_hostname to be "true" or "false"']],
    ['rediss://h:1/0?ssl_ca_certs=ca.pem', ['ssl_ca_certs to be an absolute path', 'found "ca.pem"']],
    ['rediss://h:1/0?ssl_ca_certs=/no/such/ca.pem', ['ssl_ca_certs to be an existing file']],
    [`rediss://h:1/0?ssl_certfile=${CERT}`, ['ssl_certfile and ssl_keyfile together', 'found only ssl_certfile']],
  ] as const) {
    test(`${url} is refused`, () => {
      const message = problemsOf(url);
      for (const part of parts) assert.ok(message.includes(part), `${JSON.stringify(part)} not in: ${message}`);
    });
  }

  test('every problem of one URL is reported', () => {
    const message = problemsOf('redis://h:0/99?bogus=1');
    assert.match(message, /3 problems/);
    for (const part of ['port 0', 'path "/99"', 'option "bogus"']) assert.ok(message.includes(part), message);
  });

  test('a password in a refused URL is not shown', () => {
    const message = problemsOf('http://user:s3cret@h:1');
    assert.ok(!message.includes('s3cret'), message);
    assert.ok(!problemsOf('redis://user:s3cret@h:1/abc').includes('s3cret'));
  });

  for (const url of ['redis://127.0.0.1', 'redis://127.0.0.1:6379/', 'redis://127.0.0.1:6379/0', 'redis://h:1/15', 'rediss://h:6380/2', `rediss://h:1/0?ssl_ca_certs=${CA}&ssl_certfile=${CERT}&ssl_keyfile=${KEY}&ssl_cert_reqs=required&ssl_check_hostname=false`, 'redis://[::1]:7000/3', 'redis://:pw@h:1']) {
    test(`${url} is accepted`, () => assert.equal(problemsOf(url), ''));
  }
});

describe('redisOptionsFor builds the client from the same parse', () => {
  test('database, port and an IPv6 host without brackets', () => {
    const options = redisOptionsFor(settings('redis://[::1]:7000/3'), { role: 'producer' });
    assert.equal(options.host, '::1');
    assert.equal(options.port, 7000);
    assert.equal(options.db, 3);
    assert.equal(options.tls, undefined);
  });

  test('defaults: port 6379, database 0', () => {
    const options = redisOptionsFor(settings('redis://cache.internal'), { role: 'worker' });
    assert.equal(options.port, 6379);
    assert.equal(options.db, 0);
  });

  test('credentials from the URL, %-decoded', () => {
    const options = redisOptionsFor(settings('redis://us%3Aer:p%40ss@h:1/0'), { role: 'producer' });
    assert.equal(options.username, 'us:er');
    assert.equal(options.password, 'p@ss');
  });

  test('rediss:// with its TLS options: CA, client certificate and key read, verification as asked', () => {
    const url = `rediss://h:6380/1?ssl_ca_certs=${CA}&ssl_certfile=${CERT}&ssl_keyfile=${KEY}&ssl_cert_reqs=none&ssl_check_hostname=false`;
    const tls = redisOptionsFor(settings(url), { role: 'producer' }).tls;
    assert.ok(tls);
    assert.equal(String(tls.ca), 'ca-bytes');
    assert.equal(String(tls.cert), 'cert-bytes');
    assert.equal(String(tls.key), 'key-bytes');
    assert.equal(tls.rejectUnauthorized, false);
    assert.equal(typeof tls.checkServerIdentity, 'function');
  });

  test('plain rediss:// verifies the server by default', () => {
    const tls = redisOptionsFor(settings('rediss://h:6380'), { role: 'producer' }).tls;
    assert.deepEqual(tls, { rejectUnauthorized: true });
  });

  test('settings made by hand with a bad URL: a ConfigError before any connection', () => {
    assert.throws(() => redisOptionsFor(settings('redis://h:1/abc'), { role: 'producer' }), (err: unknown) => err instanceof ConfigError && /redis_queue/.test(err.message) && /"\/abc"/.test(err.message));
  });

  test('parseRedisUrl gives no endpoint when there is a problem', () => {
    assert.equal(parseRedisUrl('redis://h:1/99').endpoint, undefined);
    assert.deepEqual(parseRedisUrl('redis://h:1/9').endpoint, { host: 'h', port: 1, db: 9 });
  });
});
