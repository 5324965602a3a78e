// Logs a person can read: `bench worker` writes JSON lines into a pipe (and with --log-format json), and
// pino-pretty lines with --log-format pretty or BENCH_LOG_FORMAT=pretty (what the CLI exports to the
// processes it starts): time, level, worker, job id, message, and errors with their stack. A failed job's
// log entry carries the error's name, message and stack; a job killed at its timeout is logged as a
// timeout, not as a worker process that died.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { colorsWanted, logFormat } from '../../src/log/log-format.ts';
import { collectLogs, runBench, spawnBench } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { useRedisBenches } from '../helpers/suite.ts';

const benches = useRedisBenches();
const SITE = 'site1.test';

async function enqueue(benchPath: string, jobs: [string, Record<string, unknown>, number?][]): Promise<string[]> {
  const client = await BenchClient.open({ benchPath });
  try {
    const ids: string[] = [];
    for (const [method, kwargs, timeout] of jobs) ids.push(await client.enqueue(method, { site: SITE, kwargs, timeout }));
    return ids;
  } finally {
    await client.close();
  }
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`not a JSON line: ${line}`);
      }
    });
}

const burst = ['worker', '--burst', '--queue', 'default'];

describe('log format', () => {
  it('is JSON into a pipe, and a failed job carries the error\'s name, message and stack', { timeout: 60_000 }, async () => {
    const bench = benches.newBench();
    const [id] = await enqueue(bench.path, [['testapp.tasks.fail', { message: 'card declined' }]]);
    const r = await runBench(burst, { cwd: bench.path });
    assert.equal(r.code, 0, r.stderr);
    const failed = jsonLines(r.stdout).find((l) => l['msg'] === 'job failed');
    assert.ok(failed, r.stdout);
    assert.equal(failed['jobId'], id);
    const err = failed['err'] as Record<string, unknown>;
    assert.equal(err['name'], 'Error');
    assert.notEqual(err['type'], 'Object');
    assert.equal(err['message'], 'card declined');
    assert.match(String(err['stack']), /^Error: card declined\n\s+at fail \(.*tasks\.ts/);
    assert.equal(typeof failed['worker'], 'string');
  });

  it('--log-format json gives JSON whatever BENCH_LOG_FORMAT says', { timeout: 60_000 }, async () => {
    const bench = benches.newBench();
    await enqueue(bench.path, [['testapp.tasks.echo', {}]]);
    const r = await runBench(['--log-format', 'json', ...burst], { cwd: bench.path, env: { BENCH_LOG_FORMAT: 'pretty' } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(jsonLines(r.stdout).some((l) => l['msg'] === 'worker started'));
  });

  it('--log-format pretty prints time, level, worker, job id, message, and the error with its stack', { timeout: 60_000 }, async () => {
    const bench = benches.newBench();
    const [id] = await enqueue(bench.path, [['testapp.tasks.fail', { message: 'card declined' }]]);
    const r = await runBench(['--log-format', 'pretty', ...burst], { cwd: bench.path, env: { NO_COLOR: '1', FORCE_COLOR: '' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: worker started \{/m);
    const escaped = (id as string).replace(/[|.]/g, '\\$&');
    // The worker process's line: its name and the job id before the message, the error below with its stack.
    assert.match(r.stdout, new RegExp(`^\\[[^\\]]+\\] WARN: \\S+\\.\\d+\\.[0-9a-f]{6} ${escaped} job failed \\{.*"method":"testapp\\.tasks\\.fail"`, 'm'));
    assert.match(r.stdout, /\n {4}err: \{\n[\s\S]*"message": "card declined"[\s\S]*Error: card declined\n\s+at fail /);
    assert.doesNotMatch(r.stdout, /^\{"level"/m, 'no JSON lines');
  });

  it('BENCH_LOG_FORMAT=pretty (what the CLI exports to the processes it starts) pretty-prints too', { timeout: 60_000 }, async () => {
    const bench = benches.newBench();
    await enqueue(bench.path, [['testapp.tasks.echo', {}]]);
    const r = await runBench(burst, { cwd: bench.path, env: { BENCH_LOG_FORMAT: 'pretty', NO_COLOR: '1', FORCE_COLOR: '' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\] INFO: \S+ jobs finished \{"count":1/);
  });

  it('refuses an unknown --log-format as a usage error', async () => {
    const bench = benches.newBench();
    const r = await runBench(['--log-format', 'xml', 'doctor'], { cwd: bench.path });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--log-format.*xml.*pretty, json|Allowed choices are pretty, json/);
  });

  it('defaults to pretty on a terminal and JSON elsewhere; colours on a terminal unless NO_COLOR', () => {
    assert.equal(logFormat({}, true), 'pretty');
    assert.equal(logFormat({}, false), 'json');
    assert.equal(logFormat({ BENCH_LOG_FORMAT: 'json' }, true), 'json');
    assert.equal(logFormat({ BENCH_LOG_FORMAT: 'pretty' }, false), 'pretty');
    assert.equal(logFormat({ BENCH_LOG_FORMAT: 'yaml' }, false), 'json');
    assert.equal(colorsWanted({}, true), true);
    assert.equal(colorsWanted({ NO_COLOR: '1' }, true), false);
    assert.equal(colorsWanted({}, false), false);
    assert.equal(colorsWanted({ FORCE_COLOR: '1' }, false), true);
  });
});

describe('bench start', () => {
  it('passes --log-format pretty to the processes it starts', { timeout: 60_000 }, async () => {
    const bench = benches.newBench();
    const start = spawnBench(['--log-format', 'pretty', 'start'], { cwd: bench.path, env: { NO_COLOR: '1', FORCE_COLOR: '' } });
    const logs = collectLogs(start);
    try {
      await waitFor(() => /^worker +\| \[[^\]]+\] INFO: worker started \{/m.test(logs.text()), { what: 'a pretty "worker started" line of the worker entry', timeoutMs: 30_000 });
      assert.doesNotMatch(logs.text(), /\| \{"level":/, 'no JSON lines');
    } finally {
      start.kill('SIGINT');
      await new Promise((resolve) => start.once('exit', resolve));
    }
  });
});

describe('a job killed at its timeout', () => {
  it('is logged as the job\'s timeout, not as a worker process that died', { timeout: 60_000 }, async () => {
    const bench = benches.newBench({ common: { job_timeout_grace: 0 } });
    const [id] = await enqueue(bench.path, [['testapp.tasks.spin', {}, 1]]);
    const r = await runBench(burst, { cwd: bench.path });
    assert.equal(r.code, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    const timedOut = lines.find((l) => l['jobId'] === id && String(l['msg']).startsWith('job timed out: still running past its timeout'));
    assert.ok(timedOut, r.stdout);
    assert.equal(timedOut['timeoutSeconds'], 1);
    assert.equal((timedOut['err'] as Record<string, unknown>)['code'], 'ERR_JOB_TIMEOUT');
    assert.match(String((timedOut['err'] as Record<string, unknown>)['message']), /timeout of 1 s/);
    assert.ok(!lines.some((l) => l['msg'] === 'worker process ended; settling its jobs'), 'no warning that a worker process died');
  });
});
