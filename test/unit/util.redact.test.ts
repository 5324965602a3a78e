// Credentials never reach a log line or a printed error: URL passwords in any text, the secret
// arguments of Redis commands that ioredis puts on its errors, password fields; and the logger
// applies it to every error field it writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log/logger.ts';
import { redactCommandArgs, redactText, redactUrl, redactValue, scrubError } from '../../src/util/redact.ts';

describe('redactText', () => {
  const cases: [string, string][] = [
    ['redis://user:s3cret@127.0.0.1:6379/0', 'redis://user:***@127.0.0.1:6379/0'],
    ['rediss://:s3cret@host', 'rediss://:***@host'],
    ['postgres://app:pw@db/site is down', 'postgres://app:***@db/site is down'],
    ['a token alone redis://tok3n@host', 'a token alone redis://***@host'],
    ['raw @ in it redis://u:p@ss@host:1 ok', 'raw @ in it redis://u:***@host:1 ok'],
    ['two: "redis://a:one@h1" (redis://b:two@h2)', 'two: "redis://a:***@h1" (redis://b:***@h2)'],
    ['no userinfo redis://127.0.0.1:6379 and mail a@b.c', 'no userinfo redis://127.0.0.1:6379 and mail a@b.c'],
  ];
  for (const [text, expected] of cases) {
    it(`redacts ${JSON.stringify(text)}`, () => assert.equal(redactText(text), expected));
  }
});

describe('redactUrl', () => {
  it('replaces the password of a URL and keeps the rest', () => {
    assert.equal(redactUrl('postgres://app:p%40ss@db:5432/site'), 'postgres://app:***@db:5432/site');
    assert.equal(redactUrl('redis://127.0.0.1:6379/2'), 'redis://127.0.0.1:6379/2');
  });

  it('redacts a URL that does not parse as text', () => {
    assert.equal(redactUrl('redis://u:pw@[bad'), 'redis://u:***@[bad');
  });
});

describe('redactCommandArgs', () => {
  const cases: [string, unknown[], unknown[]][] = [
    ['auth', ['pw'], ['***']],
    ['AUTH', ['user', 'pw'], ['user', '***']],
    ['hello', ['3', 'AUTH', 'user', 'pw'], ['3', 'AUTH', 'user', '***']],
    ['hello', ['3', 'auth', 'user', 'pw', 'SETNAME', 'x'], ['3', 'auth', 'user', '***', 'SETNAME', 'x']],
    ['migrate', ['h', '1', 'k', '0', '5', 'AUTH', 'pw'], ['h', '1', 'k', '0', '5', 'AUTH', '***']],
    ['migrate', ['h', '1', 'k', '0', '5', 'AUTH2', 'u', 'pw'], ['h', '1', 'k', '0', '5', 'AUTH2', 'u', '***']],
    ['acl', ['SETUSER', 'u', 'on', '>pw', '<old', '#abc', '!def', '~*', '+@all'], ['SETUSER', 'u', 'on', '***', '***', '***', '***', '~*', '+@all']],
    ['config', ['SET', 'requirepass', 'pw', 'maxmemory', '1gb'], ['SET', 'requirepass', '***', 'maxmemory', '1gb']],
    ['config', ['SET', 'masterauth', 'pw'], ['SET', 'masterauth', '***']],
    ['sentinel', ['SET', 'mymaster', 'auth-pass', 'pw'], ['SET', 'mymaster', 'auth-pass', '***']],
    ['get', ['key'], ['key']],
    ['evalsha', ['abc', '1', 'k', 'v'], ['abc', '1', 'k', 'v']],
  ];
  for (const [name, args, expected] of cases) {
    it(`${name} ${args.join(' ')}`, () => assert.deepEqual(redactCommandArgs(name, args), expected));
  }
});

/** An error as ioredis makes it after a refused handshake. */
function handshakeError(): Error {
  const err = new Error('WRONGPASS invalid username-password pair or user is disabled.');
  Object.assign(err, { command: { name: 'hello', args: ['3', 'AUTH', 'worker', 'pw-4f9a'] } });
  return err;
}

describe('redactValue and scrubError', () => {
  it('copies an error with its command, causes and password fields redacted, leaving the original alone', () => {
    const err = new Error('cannot reach redis://u:pw-url@h:1', { cause: handshakeError() });
    Object.assign(err, { details: { rq_password: 'pw-field', resumeToken: 'keep-me' } });
    const text = JSON.stringify(redactValue(err));
    for (const secret of ['pw-4f9a', 'pw-url', 'pw-field']) assert.ok(!text.includes(secret), text);
    assert.match(text, /"args":\["3","AUTH","worker","\*\*\*"\]/);
    assert.match(text, /keep-me/, 'fields that are not secrets stay');
    assert.match(err.message, /pw-url/, 'the original is not changed');
  });

  it('stops walking nested values', () => {
    let deep: Record<string, unknown> = { password: 'x' };
    for (let i = 0; i < 20; i++) deep = { inner: deep };
    assert.ok(!JSON.stringify(redactValue(deep)).includes('"x"'));
  });

  it('scrubs an error in place, causes and aggregated errors included', () => {
    const inner = handshakeError();
    const err = new AggregateError([handshakeError()], 'all failed at redis://u:pw-url@h', { cause: inner });
    scrubError(err);
    const seen = JSON.stringify([err.message, err.stack, inner, err.errors]);
    for (const secret of ['pw-4f9a', 'pw-url']) assert.ok(!seen.includes(secret), seen);
    assert.equal(inner.message, 'WRONGPASS invalid username-password pair or user is disabled.');
  });
});

describe('the logger', () => {
  it('redacts every error field and password field of a line', () => {
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (line: string) => void lines.push(line) } });
    log.warn({ err: handshakeError(), task: 'renew stamps' }, 'periodic task failed');
    log.error({ error: { message: 'at redis://u:pw-url@h', command: { name: 'auth', args: ['pw-auth'] } } }, 'job failed');
    log.info({ cause: new Error('x', { cause: handshakeError() }), config: { rq_password: 'pw-cfg' }, password: 'pw-top' }, 'fields');
    const text = lines.join('');
    for (const secret of ['pw-4f9a', 'pw-url', 'pw-auth', 'pw-cfg', 'pw-top']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    const first = JSON.parse(lines[0] as string) as { msg: string; err: { message: string; command: { name: string } } };
    assert.equal(first.msg, 'periodic task failed');
    assert.match(first.err.message, /^WRONGPASS/, 'the failure is still reported');
    assert.equal(first.err.command.name, 'hello');
  });
});
