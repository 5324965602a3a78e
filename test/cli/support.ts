// Shared bits of the test/cli/ enqueue tests: Redis key names (spelled out here, independently of
// src/redis/keys.ts, so a change to the wire format shows up as a failure), a whole-database snapshot
// for "nothing was written" checks, and assertions on a failed `bench` run.
import assert from 'node:assert/strict';
import type { CliResult } from '../helpers/cli.ts';
import type { TestRedis } from '../helpers/redis-server.ts';

export const SITE = 'site1.test';
/** A generated job id: 22 base64url characters starting with a letter (never "-", which reads as an option). */
export const GENERATED_ID = /^[A-Za-f][A-Za-z0-9_-]{21}$/;

/** The list a site's queued jobs wait in on a queue (its lane). */
export function laneKey(benchId: string, queue = 'default', site = SITE): string {
  return `bw:{${benchId}:${queue}}:lane:${site}`;
}

/** The wait list of jobs queued before per-site lanes (still read and served first). */
export function legacyWaitKey(benchId: string, queue = 'default'): string {
  return `bw:{${benchId}:${queue}}:wait`;
}

export function jobKey(benchId: string, id: string, queue = 'default'): string {
  return `bw:{${benchId}:${queue}}:job:${id}`;
}

/** Every key of the test Redis with its type and content, sorted: equal snapshots = nothing written. */
export async function snapshot(redis: TestRedis): Promise<string[]> {
  const keys = (await redis.client.keys('*')).sort();
  const out: string[] = [];
  for (const key of keys) {
    const type = await redis.client.type(key);
    let value: unknown;
    if (type === 'list') value = await redis.client.lrange(key, 0, -1);
    else if (type === 'hash') value = await redis.client.hgetall(key);
    else if (type === 'zset') value = await redis.client.zrange(key, '0', '-1', 'WITHSCORES');
    else if (type === 'string') value = await redis.client.get(key);
    else value = type;
    out.push(`${key} ${type} ${JSON.stringify(value)}`);
  }
  return out;
}

/** Run `action` and assert the test Redis holds exactly what it held before. */
export async function assertNothingWritten<T>(redis: TestRedis, action: () => Promise<T>): Promise<T> {
  const before = await snapshot(redis);
  const result = await action();
  assert.deepEqual(await snapshot(redis), before, 'Redis was written to although the command failed');
  return result;
}

/** A failed run: the exit code (exact, or just non-zero), an empty stdout and every pattern in stderr. */
export function assertFailure(result: CliResult, expected: { exitCode?: number; stderr: readonly (string | RegExp)[] }): void {
  const shown = `exit ${String(result.code)} signal ${String(result.signal)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  assert.equal(result.signal, null, `killed by a signal\n${shown}`);
  if (expected.exitCode !== undefined) assert.equal(result.code, expected.exitCode, `wrong exit code\n${shown}`);
  else assert.ok(result.code !== null && result.code !== 0, `expected a non-zero exit\n${shown}`);
  assert.equal(result.stdout, '', `a failed run printed a result\n${shown}`);
  for (const pattern of expected.stderr) {
    if (typeof pattern === 'string') assert.ok(result.stderr.includes(pattern), `stderr lacks ${JSON.stringify(pattern)}\n${shown}`);
    else assert.match(result.stderr, pattern, `stderr does not match ${String(pattern)}\n${shown}`);
  }
}

/** A successful run: exit 0 and nothing on stderr. */
export function assertSuccess(result: CliResult): void {
  assert.equal(result.code, 0, `bench failed: exit ${String(result.code)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  assert.equal(result.stderr, '', `unexpected stderr: ${result.stderr}`);
}
