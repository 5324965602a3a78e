// `bench start` (development): starts redis-server from config/redis_queue.conf when nothing answers
// on the local redis_queue port, then the short and long workers (and one per custom queue), each
// with its output prefixed; Ctrl-C (SIGINT) stops all of them and leaves no process behind. A bad
// Procfile line is refused naming its own 1-based line (blank and comment lines counted), starting nothing.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BenchClient } from '../../src/client.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { collectLogs, runBench, spawnBench } from '../helpers/cli.ts';
import { waitForStatus } from '../helpers/jobs.ts';
import { freePort, startRedis } from '../helpers/redis-server.ts';
import { portAnswers } from '../../src/bench/local-redis.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { processAlive } from '../helpers/process.ts';

const benches: TestBench[] = [];
after(() => benches.forEach((b) => b.remove()));


describe('bench start', () => {
  it('starts redis-server and the workers, runs jobs, and Ctrl-C stops everything', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const bench = makeBench({ redisUrl: `redis://127.0.0.1:${port}`, common: { workers: { reports: { timeout: 900 } } } });
    benches.push(bench);
    const start = spawnBench(['start'], { cwd: bench.path });
    const logs = collectLogs(start);
    const startedLines = () => logs.text().split('\n').filter((line) => line.includes('worker started'));
    await waitFor(() => startedLines().length === 3, { what: 'three workers started', timeoutMs: 30_000 });
    assert.match(logs.text(), /^redis_queue +\| /m, 'redis-server output is prefixed with its name');
    for (const name of ['short-worker', 'long-worker', 'reports-worker']) {
      assert.ok(startedLines().some((line) => line.startsWith(name)), `${name} runs, its lines prefixed with its name`);
    }
    assert.ok(existsSync(path.join(bench.path, 'config', 'redis_queue.conf')), 'bench setup redis ran');
    assert.ok(existsSync(path.join(bench.path, 'config', 'redis_queue_data')), 'redis files live under the bench');

    const probe = new Redis(port, '127.0.0.1');
    const redisPid = Number(/process_id:(\d+)/.exec(await probe.info('server'))?.[1]);
    assert.equal(await probe.config('GET', 'appendonly').then((r) => (r as string[])[1]), 'yes');
    const workerPids = startedLines().map((line) => Number(/"pid":(\d+)/.exec(line)?.[1]));
    const childPids = startedLines().flatMap((line) => (/"workerPids":\[([\d,]+)\]/.exec(line)?.[1] ?? '').split(',').map(Number));

    const client = await BenchClient.open({ benchPath: bench.path });
    const id = await client.enqueue('testapp.tasks.echo', { site: 'site1.test', kwargs: { hi: 1 } });
    await waitForStatus(probe, bench, 'default', id, 'finished');
    await client.close();
    probe.disconnect();

    start.kill('SIGINT');
    const code = await new Promise((resolve) => start.once('exit', resolve));
    assert.equal(code, 0, logs.text());
    const pids = [redisPid, ...workerPids, ...childPids];
    assert.ok(pids.length === 7 && pids.every((pid) => pid > 0), `pids ${pids.join(',')}`);
    await waitFor(() => pids.every((pid) => !processAlive(pid)), { what: 'redis-server, supervisors and worker processes to be gone' });
  });

  it('uses a Redis that already answers instead of starting one', { timeout: 60_000 }, async () => {
    const redis = await startRedis();
    const bench = makeBench({ redisUrl: redis.url });
    benches.push(bench);
    try {
      const start = spawnBench(['start'], { cwd: bench.path });
      const logs = collectLogs(start);
      await waitFor(() => logs.text().split('\n').filter((line) => line.includes('worker started')).length === 2, { what: 'workers started', timeoutMs: 30_000 });
      assert.doesNotMatch(logs.text(), /^redis_queue +\| /m);
      start.kill('SIGINT');
      assert.equal(await new Promise((resolve) => start.once('exit', resolve)), 0);
      assert.equal(await redis.client.ping(), 'PONG', 'the existing Redis is left running');
    } finally {
      await redis.stop();
    }
  });
  it('refuses a bad Procfile line naming its line in the file (blank and comment lines counted), starting nothing', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const bench = makeBench({ redisUrl: `redis://127.0.0.1:${port}` });
    benches.push(bench);
    writeFileSync(path.join(bench.path, 'Procfile'), ['# extras', '', 'web: sleep 60', '   ', '# the next line has no name', 'sleep 60', 'other: sleep 60', ''].join('\n'));
    const result = await runBench(['start'], { cwd: bench.path, timeoutMs: 20_000 });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /Error \[ERR_CONFIG_INVALID\]: \S*Procfile: line 6: expected "name: command"/);
    assert.equal(await portAnswers(port), false, 'no redis-server was started');
  });
});
