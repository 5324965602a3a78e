// The dashboard's credential primitives: scrypt password hashes (format, verification, bounds on a
// stored cost), API tokens (shape, only the hash stored, lookup), the login rate limiter and the
// session store's expiry, on a clock the tests move.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { findTokenUser, hashApiToken, newApiToken } from '../../src/dashboard/auth/api-token.ts';
import { DEFAULT_SCRYPT, hashPassword, parsePasswordHash, passwordFingerprint, verifyPassword } from '../../src/dashboard/auth/password.ts';
import { LoginRateLimiter } from '../../src/dashboard/auth/rate-limit.ts';
import { SessionStore } from '../../src/dashboard/auth/sessions.ts';

const CHEAP = { N: 1024, r: 8, p: 1 };
const HASH_SHAPE = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/** A clock the test sets. */
function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('password hashes', () => {
  test('the default cost is stored in the hash, which verifies the password and nothing else', async () => {
    const started = performance.now();
    const stored = await hashPassword('correct horse');
    console.log(`scrypt N=${DEFAULT_SCRYPT.N} r=${DEFAULT_SCRYPT.r} p=${DEFAULT_SCRYPT.p}: hash in ${(performance.now() - started).toFixed(0)} ms`);
    const parts = HASH_SHAPE.exec(stored);
    assert.ok(parts, stored);
    assert.deepEqual(parts.slice(1, 4).map(Number), [32768, 8, 1]);
    assert.equal(Buffer.from(parts[4] as string, 'base64url').length, 16);
    assert.equal(Buffer.from(parts[5] as string, 'base64url').length, 32);
    const verifyStarted = performance.now();
    assert.equal(await verifyPassword('correct horse', stored), true);
    console.log(`verify in ${(performance.now() - verifyStarted).toFixed(0)} ms`);
    assert.equal(await verifyPassword('correct horse ', stored), false);
    assert.equal(await verifyPassword('Correct horse', stored), false);
  });

  test('two hashes of one password differ (salt), and both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('pw', CHEAP), hashPassword('pw', CHEAP)]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('pw', a), true);
    assert.equal(await verifyPassword('pw', b), true);
  });

  test('a password is compared in Unicode NFC: é typed composed or decomposed is the same', async () => {
    const stored = await hashPassword('caf\u00e9', CHEAP);
    assert.equal(await verifyPassword('cafe\u0301', stored), true);
  });

  test('a tampered or unreadable hash never verifies, and a cost that would take the memory is not even tried', async () => {
    const stored = await hashPassword('pw', CHEAP);
    const [, n, r, p, salt, hash] = stored.split('$') as [string, string, string, string, string, string];
    const flipped = `${hash[0] === 'A' ? 'B' : 'A'}${hash.slice(1)}`;
    assert.equal(await verifyPassword('pw', ['scrypt', n, r, p, salt, flipped].join('$')), false);
    for (const bad of [
      ['scrypt', 2 ** 30, r, p, salt, hash],
      ['scrypt', 1000, r, p, salt, hash],
      ['scrypt', n, 0, p, salt, hash],
      ['scrypt', n, r, p, 'c2FsdA', hash],
      ['scrypt', n, r, p, salt, 'a+b/'],
      ['bcrypt', n, r, p, salt, hash],
      ['scrypt', n, r, p, salt],
    ]) {
      const text = bad.join('$');
      assert.equal(parsePasswordHash(text), undefined, text);
      assert.equal(await verifyPassword('pw', text), false, text);
    }
    assert.equal(await verifyPassword('pw', ''), false);
  });

  test('a fingerprint changes with the hash and does not contain it', async () => {
    const a = await hashPassword('pw', CHEAP);
    const b = await hashPassword('pw', CHEAP);
    assert.equal(passwordFingerprint(a), passwordFingerprint(a));
    assert.notEqual(passwordFingerprint(a), passwordFingerprint(b));
    assert.ok(!a.includes(passwordFingerprint(a)));
  });
});

describe('API tokens', () => {
  test('bwd_ + 43 base64url characters (32 bytes); the stored hash is its sha256 in hex', () => {
    const { token, hash } = newApiToken();
    assert.match(token, /^bwd_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token.slice(4), 'base64url').length, 32);
    assert.equal(hash, createHash('sha256').update(token).digest('hex'));
    assert.equal(hashApiToken(token), hash);
    assert.notEqual(newApiToken().token, token);
  });

  test('a token is found by its hash among every user, and nothing else is', () => {
    const mine = newApiToken();
    const theirs = newApiToken();
    const users = {
      alice: { role: 'admin' as const, sites: ['*'], tokens: [newApiToken().hash, mine.hash] },
      bob: { role: 'viewer' as const, sites: ['a.test'], tokens: [theirs.hash] },
      carol: { role: 'viewer' as const, sites: ['*'] },
    };
    assert.equal(findTokenUser(users, mine.token), 'alice');
    assert.equal(findTokenUser(users, theirs.token), 'bob');
    assert.equal(findTokenUser(users, newApiToken().token), undefined);
    assert.equal(findTokenUser(users, mine.hash), undefined, 'the stored hash is not itself a token');
    assert.equal(findTokenUser(users, `${mine.token}x`), undefined);
    assert.equal(findTokenUser(users, ''), undefined);
  });
});

describe('login rate limiter', () => {
  test('5 failures within the window block the key until the oldest leaves it', () => {
    const t = clock();
    const limiter = new LoginRateLimiter({ maxFailures: 5, windowMs: 15 * 60_000, now: t.now });
    for (let i = 0; i < 5; i++) {
      assert.equal(limiter.blockedFor(['user:a']), 0, `attempt ${i + 1}`);
      limiter.recordAttempt(['user:a']);
      t.advance(60_000);
    }
    // Failures at 0, 1, ..., 4 min; now 5 min: blocked until the first is 15 min old.
    assert.equal(limiter.blockedFor(['user:a']), 10 * 60_000);
    assert.equal(limiter.blockedFor(['user:b']), 0, 'another key is free');
    assert.equal(limiter.blockedFor(['user:b', 'user:a']), 10 * 60_000, 'any blocked key blocks');
    t.advance(10 * 60_000 - 1);
    assert.equal(limiter.blockedFor(['user:a']), 1);
    t.advance(1);
    assert.equal(limiter.blockedFor(['user:a']), 0);
  });

  test('a success (reset) clears the keys', () => {
    const limiter = new LoginRateLimiter({ maxFailures: 3 });
    for (let i = 0; i < 3; i++) limiter.recordAttempt(['user:a', 'address:1']);
    assert.ok(limiter.blockedFor(['address:1']) > 0);
    limiter.reset(['user:a', 'address:1']);
    assert.equal(limiter.blockedFor(['user:a', 'address:1']), 0);
  });

  test('memory is bounded: beyond maxKeys the least recently failed keys are forgotten', () => {
    const limiter = new LoginRateLimiter({ maxFailures: 1, maxKeys: 3 });
    for (const key of ['a', 'b', 'c', 'd']) limiter.recordAttempt([key]);
    assert.equal(limiter.blockedFor(['a']), 0, 'the oldest key was dropped');
    for (const key of ['b', 'c', 'd']) assert.ok(limiter.blockedFor([key]) > 0, key);
  });
});

describe('session store', () => {
  test('an unused session ends after the idle time; use keeps it alive', () => {
    const t = clock();
    const store = new SessionStore({ idleMs: 1000, maxAgeMs: 10_000, now: t.now });
    const kept = store.create('alice', 'fp');
    const left = store.create('bob', 'fp');
    assert.match(kept.id, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(kept.id, left.id);
    assert.notEqual(kept.csrfToken, kept.id);
    t.advance(900);
    assert.equal(store.use(kept.id)?.user, 'alice');
    t.advance(900);
    assert.equal(store.use(kept.id)?.user, 'alice', 'used 900 ms ago: alive');
    assert.equal(store.use(left.id), undefined, 'unused for 1800 ms: ended');
    assert.equal(store.use('no-such-id'), undefined);
  });

  test('a session in use still ends at its maximum age', () => {
    const t = clock();
    const store = new SessionStore({ idleMs: 1000, maxAgeMs: 3000, now: t.now });
    const session = store.create('alice', 'fp');
    for (let i = 0; i < 5; i++) {
      t.advance(500);
      assert.ok(store.use(session.id), `at ${(i + 1) * 500} ms`);
    }
    t.advance(500);
    assert.equal(store.use(session.id), undefined, 'at 3000 ms');
    assert.equal(store.size, 0);
  });

  test('peek does not extend a session; delete ends it; the oldest go beyond maxSessions', () => {
    const t = clock();
    const store = new SessionStore({ idleMs: 1000, maxAgeMs: 10_000, maxSessions: 2, now: t.now });
    const a = store.create('a', 'fp');
    t.advance(600);
    assert.ok(store.peek(a.id));
    t.advance(600);
    assert.equal(store.peek(a.id), undefined);
    const b = store.create('b', 'fp');
    const c = store.create('c', 'fp');
    const d = store.create('d', 'fp');
    assert.equal(store.peek(b.id), undefined, 'evicted');
    assert.ok(store.peek(c.id) && store.peek(d.id));
    store.delete(c.id);
    assert.equal(store.peek(c.id), undefined);
  });
});
