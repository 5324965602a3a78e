// `bench start` (development) runs the bench's Procfile, as Frappe's (honcho): without one it writes
// Frappe's entries first (redis_queue, worker, worker_<queue>, schedule, and the dashboard on its
// dashboard_port, naming this package's bench by absolute path), starts redis-server first, prefixes
// each line with its process name, and Ctrl-C stops everything, leaving no process behind. A Procfile
// of extras only, or one written before the dashboard entry, is completed after a question on a
// terminal or with --yes (the dashboard after its schedule), and refused elsewhere, unchanged. When one process ends the others are
// stopped and the exit code is the first failure's. -c name=n, --no-prefix, --no-dev, colour on a
// terminal only (not with NO_COLOR). A bad Procfile line is refused naming its own line.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BenchClient } from '../../src/client.ts';
import { BENCH_BIN } from '../../src/bench/worker-groups.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { collectLogs, runBench, spawnBench } from '../helpers/cli.ts';
import { waitForStatus } from '../helpers/jobs.ts';
import { freePort, startRedis } from '../helpers/redis-server.ts';
import { portAnswers } from '../../src/bench/local-redis.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { exitOf, processAlive } from '../helpers/process.ts';
import { runBenchOnTty } from '../helpers/tty.ts';

const benches: TestBench[] = [];
after(() => benches.forEach((b) => b.remove()));

async function newBench(procfile?: string): Promise<{ bench: TestBench; port: number; dashboardPort: number }> {
  const port = await freePort();
  // Its own dashboard port: the default (9181) may be taken by another bench on this machine.
  const dashboardPort = await freePort();
  const bench = makeBench({ redisUrl: `redis://127.0.0.1:${port}`, common: { workers: { reports: { timeout: 900 } }, dashboard_port: dashboardPort } });
  benches.push(bench);
  if (procfile !== undefined) writeFileSync(path.join(bench.path, 'Procfile'), procfile);
  return { bench, port, dashboardPort };
}

/** The Procfile bench start writes for newBench's bench: Frappe's entries, before the dashboard's. */
const BIN = `${process.execPath} ${BENCH_BIN}`;
const FRAPPE_ENTRIES = `redis_queue: redis-server config/redis_queue.conf\nworker: ${BIN} worker\nworker_reports: ${BIN} worker --queue reports\nschedule: ${BIN} schedule\n`;
const DASHBOARD_ENTRY = `dashboard: ${BIN} dashboard\n`;

/** Frappe's entries switched off, so that only a test's extras run. */
const ONLY_EXTRAS = ['-c', 'redis_queue=0,worker=0,worker_reports=0,schedule=0,dashboard=0'];

describe('bench start', () => {
  it("writes Frappe's Procfile when there is none, runs it, runs jobs, and Ctrl-C stops everything", { timeout: 60_000 }, async () => {
    const { bench, port, dashboardPort } = await newBench();
    const start = spawnBench(['start'], { cwd: bench.path });
    const logs = collectLogs(start);
    const startedLines = () => logs.text().split('\n').filter((line) => line.includes('worker started'));
    const dashboardAt = new RegExp(`^dashboard +\\| dashboard at http://127\\.0\\.0\\.1:${dashboardPort}/$`, 'm');
    await waitFor(() => startedLines().length === 2 && /^schedule +\| .*scheduler tick/m.test(logs.text()) && dashboardAt.test(logs.text()), {
      what: 'two workers, the scheduler and the dashboard started',
      timeoutMs: 30_000,
    });

    assert.equal(readFileSync(path.join(bench.path, 'Procfile'), 'utf8'), `${FRAPPE_ENTRIES}${DASHBOARD_ENTRY}`);
    const page = await fetch(`http://127.0.0.1:${dashboardPort}/`);
    assert.equal(page.status, 200, 'the dashboard answers on its dashboard_port, on loopback');
    assert.match(logs.text(), /^redis_queue +\| .*Ready to accept connections/m, 'redis-server output is prefixed with its name');
    for (const name of ['worker', 'worker_reports']) {
      assert.ok(startedLines().some((line) => line.startsWith(`${name} `)), `${name} runs, its lines prefixed with its name`);
    }
    assert.doesNotMatch(logs.text(), /\x1b\[/, 'no colour when stdout is not a terminal');
    assert.ok(existsSync(path.join(bench.path, 'config', 'redis_queue.conf')), 'bench setup redis ran');

    const probe = new Redis(port, '127.0.0.1');
    const redisPid = Number(/process_id:(\d+)/.exec(await probe.info('server'))?.[1]);
    const workerPids = startedLines().map((line) => Number(/"pid":(\d+)/.exec(line)?.[1]));
    const childPids = startedLines().flatMap((line) => (/"workerPids":\[([\d,]+)\]/.exec(line)?.[1] ?? '').split(',').map(Number));
    const schedulePid = Number(/^schedule +\| .*"pid":(\d+)/m.exec(logs.text())?.[1]);
    const dashboardPid = Number(/^dashboard +\| .*"pid":(\d+)/m.exec(logs.text())?.[1]);

    const client = await BenchClient.open({ benchPath: bench.path });
    const ids = [await client.enqueue('testapp.tasks.echo', { site: 'site1.test', kwargs: { hi: 1 } }), await client.enqueue('testapp.tasks.echo', { site: 'site1.test', queue: 'reports', kwargs: {} })];
    await waitForStatus(probe, bench, 'default', ids[0] as string, 'finished');
    await waitForStatus(probe, bench, 'reports', ids[1] as string, 'finished');
    await client.close();
    probe.disconnect();

    start.kill('SIGINT');
    assert.equal(await exitOf(start, 30_000), 0, logs.text());
    assert.match(logs.text(), /^system +\| SIGINT received: stopping/m);
    const pids = [redisPid, schedulePid, dashboardPid, ...workerPids, ...childPids];
    assert.ok(pids.length === 7 && pids.every((pid) => pid > 0), `pids ${pids.join(',')}`);
    await waitFor(() => pids.every((pid) => !processAlive(pid)), { what: 'redis-server, the scheduler, the dashboard, supervisors and worker processes to be gone' });
  });

  it('skips redis_queue when a Redis already answers, and leaves it running', { timeout: 60_000 }, async () => {
    const redis = await startRedis();
    const bench = makeBench({ redisUrl: redis.url, common: { dashboard_port: await freePort() } });
    benches.push(bench);
    try {
      const start = spawnBench(['start'], { cwd: bench.path });
      const logs = collectLogs(start);
      await waitFor(() => logs.text().includes('worker started'), { what: 'the worker started', timeoutMs: 30_000 });
      assert.match(logs.text(), /^system +\| redis_queue: something already answers on port \d+; not starting another Redis$/m);
      assert.doesNotMatch(logs.text(), /^redis_queue +\| /m);
      start.kill('SIGTERM');
      assert.equal(await exitOf(start, 30_000), 0, logs.text());
      assert.equal(await redis.client.ping(), 'PONG', 'the existing Redis is left running');
    } finally {
      await redis.stop();
    }
  });

  it('refuses a Procfile of extras only off a terminal without --yes, changing and starting nothing', { timeout: 30_000 }, async () => {
    const extras = 'web: sleep 60\n';
    const { bench, port } = await newBench(extras);
    const result = await runBench(['start'], { cwd: bench.path });
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /^Error \[ERR_CONFIRMATION_REQUIRED\]: add redis_queue, worker, worker_reports, schedule, dashboard to \S+Procfile: needs a confirmation; run it on a terminal to be asked, or pass --yes$/m);
    assert.equal(readFileSync(path.join(bench.path, 'Procfile'), 'utf8'), extras);
    assert.equal(await portAnswers(port), false, 'no redis-server was started');
  });

  it('--yes adds the missing entries before the extras; one ending stops the rest; --no-prefix and DEV_SERVER', { timeout: 30_000 }, async () => {
    const extras = '# my extras\nhello: echo "hello dev=$DEV_SERVER"\n';
    const { bench } = await newBench(extras);
    const result = await runBench(['start', '--yes', '--no-prefix', ...ONLY_EXTRAS], { cwd: bench.path });
    assert.equal(result.code, 0, result.stderr);
    const procfile = readFileSync(path.join(bench.path, 'Procfile'), 'utf8');
    assert.match(procfile, /^redis_queue: redis-server config\/redis_queue.conf\nworker: .* worker\nworker_reports: .* worker --queue reports\nschedule: .* schedule\ndashboard: .* dashboard\n# my extras\nhello: /);
    assert.match(result.stdout, /^bench start: added redis_queue, worker, worker_reports, schedule, dashboard to \S+Procfile$/m);
    assert.match(result.stdout, /^hello dev=true$/m, 'the line as printed, without a prefix; DEV_SERVER=true as Frappe sets it');
    assert.match(result.stdout, /^hello exited \(code 0\); stopping the others$/m);

    const noDev = await runBench(['start', '--no-dev', ...ONLY_EXTRAS], { cwd: bench.path });
    assert.equal(noDev.code, 0, noDev.stderr);
    assert.match(noDev.stdout, /^hello +\| hello dev=$/m, '--no-dev leaves DEV_SERVER unset; the prefix is back');
  });

  it('a Procfile written before the dashboard entry: only dashboard is offered, refused off a terminal, added after schedule with --yes', { timeout: 30_000 }, async () => {
    const older = `${FRAPPE_ENTRIES}hello: echo hi\n`;
    const { bench } = await newBench(older);
    const refused = await runBench(['start', ...ONLY_EXTRAS], { cwd: bench.path });
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /^Error \[ERR_CONFIRMATION_REQUIRED\]: add dashboard to \S+Procfile: needs a confirmation/m);
    assert.equal(readFileSync(path.join(bench.path, 'Procfile'), 'utf8'), older);

    const added = await runBench(['start', '--yes', ...ONLY_EXTRAS], { cwd: bench.path });
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^bench start: added dashboard to \S+Procfile$/m);
    assert.equal(readFileSync(path.join(bench.path, 'Procfile'), 'utf8'), `${FRAPPE_ENTRIES}${DASHBOARD_ENTRY}hello: echo hi\n`, "beside Frappe's entries, ahead of the extras");
  });

  it('exits with the code of the first process that failed, stopping the others; -c runs n processes of an entry', { timeout: 30_000 }, async () => {
    const { bench } = await newBench('sleeper: sh -c \'echo "pid $$"; exec sleep 60\'\nfail: sh -c \'sleep 1; exit 3\'\n');
    const result = await runBench(['start', '--yes', ...ONLY_EXTRAS, '-c', 'sleeper=2'], { cwd: bench.path });
    assert.equal(result.code, 3, result.stdout);
    assert.match(result.stderr, /^Error \[ERR_COMMAND_FAILED\]: bench start: fail exited \(code 3\); the others were stopped$/m);
    const pids = [...result.stdout.matchAll(/^sleeper\.([12]) +\| pid (\d+)$/gm)];
    assert.deepEqual(pids.map((m) => m[1]).sort(), ['1', '2'], result.stdout);
    for (const m of pids) assert.equal(processAlive(Number(m[2])), false, `sleeper.${m[1] as string} was stopped`);

    const unknown = await runBench(['start', '-c', 'nosuch=2'], { cwd: bench.path });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--concurrency names "nosuch", which the Procfile has no entry for/);
  });

  it('asks on a terminal: "n" changes nothing, "y" adds the entries; prefixes are coloured there, unless NO_COLOR', { timeout: 60_000 }, async () => {
    const extras = 'hello: echo hi\n';
    const { bench } = await newBench(extras);
    const question = /has no redis_queue, worker, worker_reports, schedule, dashboard: add them\? \[y\/N\] /;
    const no = await runBenchOnTty(['start', ...ONLY_EXTRAS], { cwd: bench.path, question, answer: 'n\n' });
    assert.equal(no.code, 1, no.output);
    assert.match(no.output, /Error \[ERR_CONFIRMATION_REQUIRED\]: add .* not confirmed; nothing was changed/);
    assert.equal(readFileSync(path.join(bench.path, 'Procfile'), 'utf8'), extras);

    const yes = await runBenchOnTty(['start', ...ONLY_EXTRAS], { cwd: bench.path, question, answer: 'y\n' });
    assert.equal(yes.code, 0, yes.output);
    assert.match(readFileSync(path.join(bench.path, 'Procfile'), 'utf8'), /^redis_queue: .*\nschedule: [^\n]*\ndashboard: [^\n]*\nhello: echo hi\n$/s);
    assert.match(yes.output, /\x1b\[36mhello +\| \x1b\[0mhi/, 'the first process in cyan, as honcho');

    const plain = await runBenchOnTty(['start', ...ONLY_EXTRAS], { cwd: bench.path, env: { NO_COLOR: '1' } });
    assert.equal(plain.code, 0, plain.output);
    assert.match(plain.output, /^hello +\| hi\r?$/m);
    assert.doesNotMatch(plain.output, /\x1b\[/);
  });

  it('refuses a bad Procfile line naming its line in the file (blank and comment lines counted), starting nothing', { timeout: 30_000 }, async () => {
    const { bench, port } = await newBench(['# extras', '', 'web: sleep 60', '   ', '# the next line has no name', 'sleep 60', 'other: sleep 60', ''].join('\n'));
    const result = await runBench(['start', '--yes'], { cwd: bench.path, timeoutMs: 20_000 });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /Error \[ERR_CONFIG_INVALID\]: \S*Procfile: line 6: expected "name: command"/);
    assert.equal(await portAnswers(port), false, 'no redis-server was started');
  });
});
