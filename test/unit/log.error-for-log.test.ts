// A job's SerializedError logged under `err` (errorForLog) comes out of the pino logger with its name,
// message, stack and code, whatever its name or code (a plain object would be logged as "type":"Object").
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorForLog, serializeError, RetryBackgroundJobError } from '../../src/errors.ts';
import { createLogger } from '../../src/log/logger.ts';

function logged(err: unknown): Record<string, unknown> {
  const lines: string[] = [];
  const log = createLogger({ destination: { write: (line: string) => void lines.push(line) } });
  log.warn({ err }, 'job failed');
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

describe('errorForLog', () => {
  it('logs the name, message, stack and code of any serialized error', () => {
    const cases = [serializeError(new TypeError('x is not a function')), serializeError(new RetryBackgroundJobError('try again')), serializeError(new Error('plain')), { name: 'NonError', message: '"a string"' }];
    for (const error of cases) {
      const err = logged(errorForLog(error))['err'] as Record<string, unknown>;
      assert.notEqual(err['type'], 'Object');
      assert.equal(err['name'], error.name);
      assert.equal(err['message'], error.message);
      assert.equal(err['stack'], error.stack ?? '', 'pino writes an empty stack when there is none');
      assert.equal(err['code'], error.code);
    }
  });

  it('is what a plain SerializedError is not', () => {
    const err = logged(serializeError(new Error('plain')))['err'] as Record<string, unknown>;
    assert.equal(err['type'], 'Object', 'the bug errorForLog fixes: a plain object is logged as type Object');
  });
});
