// How a Redis command's rejection is turned into what bench-worker shows: an ACL refusal (NOPERM,
// in every wording Redis 7.0 to 7.4 uses) becomes ERR_REDIS_NOPERM naming the command and the user;
// any other error keeps its identity with its secret arguments replaced.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBenchError } from '../../src/errors.ts';
import { aclRefusal, commandError } from '../../src/redis/reply-errors.ts';

function replyError(message: string, name: string, args: unknown[]): Error {
  return Object.assign(new Error(message), { command: { name, args } });
}

describe('commandError', () => {
  const cases: { message: string; command: string; says: string; details: Record<string, unknown> }[] = [
    {
      message: "NOPERM this user has no permissions to run the 'zadd' command",
      command: 'zadd',
      says: 'Redis refused ZADD to ACL user "app"',
      details: { command: 'zadd', user: 'app' },
    },
    {
      message: "NOPERM User app has no permissions to run the 'config|get' command",
      command: 'config',
      says: 'Redis refused CONFIG|GET to ACL user "app"',
      details: { command: 'config|get', user: 'app', sentCommand: 'config' },
    },
    {
      message: 'NOPERM this user has no permissions to access one of the keys used as arguments',
      command: 'evalsha',
      says: 'Redis refused the keys (or channels) of EVALSHA to ACL user "app"',
      details: { command: 'evalsha', user: 'app' },
    },
    {
      message: "ERR The user executing the script can't run this command or subcommand script: 30ad43, on @user_script:123.",
      command: 'evalsha',
      says: 'Redis refused a command run by the EVALSHA script to ACL user "app"',
      details: { command: 'evalsha', user: 'app' },
    },
    {
      message: "NOPERM User app has no permissions to run the 'rpush' command script: 30ad43, on @user_script:123.",
      command: 'evalsha',
      says: 'Redis refused RPUSH (run by the EVALSHA script) to ACL user "app"',
      details: { command: 'rpush', user: 'app', sentCommand: 'evalsha' },
    },
  ];
  for (const c of cases) {
    it(`maps ${JSON.stringify(c.message.slice(0, 60))}`, () => {
      const err = commandError(replyError(c.message, c.command, ['k']), c.command, 'app');
      assert.ok(isBenchError(err), String(err));
      assert.equal(err.code, 'ERR_REDIS_NOPERM');
      assert.ok(err.message.startsWith(`${c.says}: `), err.message);
      assert.doesNotMatch(err.message, /\w\.\./, 'one full stop after the reason');
      assert.deepEqual(err.details, c.details);
    });
  }

  it('keeps any other error, with the secret arguments of its command replaced', () => {
    const original = replyError('WRONGPASS invalid username-password pair or user is disabled.', 'hello', ['3', 'AUTH', 'app', 'hunter2']);
    const err = commandError(original, 'hello', 'app');
    assert.equal(err, original);
    assert.deepEqual((err as Error & { command: unknown }).command, { name: 'hello', args: ['3', 'AUTH', 'app', '***'] });
  });

  it('does not take other errors for refusals', () => {
    for (const message of ['NOSCRIPT No matching script', 'OOM command not allowed when used memory > maxmemory', 'WRONGPASS invalid username-password pair']) {
      assert.equal(aclRefusal(message), undefined, message);
    }
  });
});
