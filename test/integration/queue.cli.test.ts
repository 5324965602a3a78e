// `bench queue pause|resume|status` and doctor's paused line, run as the real `bench` binary: the result
// on stdout (text and --json), the log line on stderr naming the OS user, a repeat that changes nothing,
// and an unknown queue refused with ERR_QUEUE_UNKNOWN before anything is written.
import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { failed, ok, runBench, shown } from '../helpers/cli.ts';
import { useMonitorBenches, type Fresh } from '../helpers/monitor.ts';
import { queueKeys } from '../../src/redis/keys.ts';

const benches = useMonitorBenches();
const bench = (fresh: Fresh, args: readonly string[]) => runBench(args, { cwd: fresh.bench.path });
const PAUSED_LINE = 'Paused (workers claim nothing from them; bench queue resume QUEUE): default';

/** The JSON log lines of a run's stderr. */
function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('bench queue', () => {
  it('pause, status, doctor, resume: results on stdout, each change logged on stderr with the OS user', { timeout: 60_000 }, async () => {
    const fresh = await benches.fresh();
    const user = os.userInfo().username;
    assert.equal(ok(await bench(fresh, ['queue', 'status'])), 'QUEUE    PAUSED\nshort    no\ndefault  no\nlong     no\n');

    const paused = await bench(fresh, ['queue', 'pause', 'default']);
    assert.equal(paused.code, 0, shown(paused));
    assert.equal(paused.stdout, 'Queue default paused: workers claim nothing from it until `bench queue resume default`\n');
    assert.deepEqual(logLines(paused.stderr).map((l) => [l['msg'], l['queue'], l['by'], l['changed']]), [['queue paused', 'default', user, true]]);
    assert.equal(await benches.redis.client.get(queueKeys(fresh.bench.benchId, 'default').paused), '1');

    const again = await bench(fresh, ['queue', 'pause', 'default', '--json']);
    assert.deepEqual(JSON.parse(again.stdout), { queue: 'default', paused: true, changed: false, by: user });
    assert.deepEqual(logLines(again.stderr).map((l) => [l['msg'], l['by']]), [['queue pause asked; it was paused already', user]]);

    assert.deepEqual(JSON.parse(ok(await bench(fresh, ['queue', 'status', '--json']))), [
      { queue: 'short', paused: false },
      { queue: 'default', paused: true },
      { queue: 'long', paused: false },
    ]);
    const doctor = ok(await bench(fresh, ['doctor']));
    assert.match(doctor, /\nlong +0 +0 +0 +0 +0\nPaused \(workers claim nothing from them; bench queue resume QUEUE\): default\n-----Queues by site-----/);
    assert.deepEqual((JSON.parse(ok(await bench(fresh, ['doctor', '--json']))) as { pausedQueues: string[] }).pausedQueues, ['default']);

    const resumed = await bench(fresh, ['queue', 'resume', 'default', '--json']);
    assert.equal(resumed.code, 0, shown(resumed));
    assert.deepEqual(JSON.parse(resumed.stdout), { queue: 'default', paused: false, changed: true, by: user });
    assert.deepEqual(logLines(resumed.stderr).map((l) => [l['msg'], l['queue'], l['by']]), [['queue resumed', 'default', user]]);
    assert.equal(await benches.redis.client.exists(queueKeys(fresh.bench.benchId, 'default').paused), 0);
    assert.match(ok(await bench(fresh, ['queue', 'status'])), /\ndefault +no\n/);
    assert.ok(!ok(await bench(fresh, ['doctor'])).includes(PAUSED_LINE), 'doctor names no paused queue once resumed');
    assert.equal((await bench(fresh, ['queue', 'resume', 'default'])).stdout, 'Queue default was not paused\n');
  });

  it('an unknown queue is refused (exit 1, ERR_QUEUE_UNKNOWN, nothing written); a missing one is a usage error', { timeout: 30_000 }, async () => {
    const fresh = await benches.fresh();
    const keys = await benches.redis.client.dbsize();
    for (const action of ['pause', 'resume']) {
      const r = await bench(fresh, ['queue', action, 'nope']);
      failed(r, 1, /^Error \[ERR_QUEUE_UNKNOWN\]: unknown queue "nope": queue should be one of short, default, long\n$/);
      assert.equal(r.stdout, '', shown(r));
    }
    assert.equal(await benches.redis.client.dbsize(), keys, 'nothing written for an unknown queue');
    failed(await bench(fresh, ['queue', 'pause']), 2, /missing required argument 'queue'/);
  });
});
