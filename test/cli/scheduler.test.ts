// The scheduler commands as a user runs them: scheduler pause/resume/disable/enable and
// enable-/disable-scheduler write the site's site_config.json (1 or 0, as Frappe's do), status (-f json)
// and list read it back with the hooks' methods and problems, trigger-scheduler-event enqueues an
// event's methods (and refuses an unknown one), and doctor names a bad cron expression's app.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runBench } from '../helpers/cli.ts';
import { readLog, writeSchedApp } from '../helpers/scheduler.ts';
import { useRedisBenches } from '../helpers/suite.ts';

const benches = useRedisBenches();
const SITE = 'site1.test';

describe('scheduler commands', () => {
  it('switch, show, list and trigger a site\'s scheduler', { timeout: 60_000 }, async () => {
    const bench = benches.newBench({ common: { time_zone: 'UTC' } });
    writeSchedApp(bench, `export const scheduler_events = { hourly_long: ['schedapp.tasks.noop'], cron: { '0 25 * * *': ['schedapp.tasks.noop'] } };\n`);
    const bench_ = (...args: string[]) => runBench(['--site', SITE, ...args], { cwd: bench.path });
    const siteConfig = () => JSON.parse(readFileSync(path.join(bench.path, 'sites', SITE, 'site_config.json'), 'utf8')) as Record<string, unknown>;

    assert.equal((await bench_('scheduler', 'pause')).code, 0);
    assert.equal(siteConfig()['pause_scheduler'], 1);
    let status = JSON.parse((await bench_('scheduler', 'status', '-f', 'json')).stdout) as Record<string, unknown>;
    assert.equal(status['status'], 'paused');
    assert.equal((await bench_('scheduler', 'resume', '--json')).code, 0);
    assert.equal(siteConfig()['pause_scheduler'], 0);
    assert.equal((await bench_('disable-scheduler')).code, 0);
    assert.equal(siteConfig()['disable_scheduler'], 1);
    status = JSON.parse((await bench_('scheduler', 'status', '--json')).stdout) as Record<string, unknown>;
    assert.equal(status['status'], 'disabled');
    assert.equal((await bench_('scheduler', 'enable')).code, 0);
    assert.equal(siteConfig()['disable_scheduler'], 0);

    const list = JSON.parse((await bench_('scheduler', 'list', '--json')).stdout) as { methods: { name: string; queue: string }[]; problems: { app: string; expression: string }[] };
    assert.deepEqual(list.methods.map((m) => [m.name, m.queue]), [['hourly_long|schedapp.tasks.noop', 'long']]);
    assert.deepEqual(list.problems.map((p) => [p.app, p.expression]), [['schedapp', '0 25 * * *']]);

    const triggered = await bench_('trigger-scheduler-event', 'hourly_long', '--json');
    assert.equal(triggered.code, 0, triggered.stderr);
    assert.deepEqual((JSON.parse(triggered.stdout) as { enqueued: string[] }).enqueued, ['schedapp.tasks.noop']);
    assert.deepEqual(readLog(bench, SITE).map((r) => [r.status, r.details]), [['Queued', 'triggered by hand (trigger-scheduler-event)']]);
    const again = JSON.parse((await bench_('trigger-scheduler-event', 'hourly_long', '--json')).stdout) as { skipped: string[] };
    assert.deepEqual(again.skipped, ['schedapp.tasks.noop'], 'its previous run is still queued');
    const unknown = await bench_('trigger-scheduler-event', 'daily');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no scheduled method for event "daily" \(its events: hourly_long\)/);

    const doctor = await runBench(['doctor'], { cwd: bench.path });
    assert.match(doctor.stdout, /Holder: none/);
    assert.match(doctor.stdout, /app "schedapp", cron "0 25 \* \* \*": bad cron expression .*hour/);
  });

  it('trigger-scheduler-event --site all goes on past a site without the event, then exits non-zero naming it', { timeout: 30_000 }, async () => {
    const bench = benches.newBench({ common: { time_zone: 'UTC' }, sites: { 'a.test': {}, 'b.test': { installed_apps: ['testapp'] } } });
    writeSchedApp(bench, `export const scheduler_events = { hourly_long: ['schedapp.tasks.noop'] };\n`);
    const result = await runBench(['--site', 'all', 'trigger-scheduler-event', 'hourly_long', '--json'], { cwd: bench.path });
    assert.equal(result.code, 2, result.stderr);
    const done = JSON.parse(result.stdout) as { site: string; enqueued: string[] }[];
    assert.deepEqual(done.map((r) => [r.site, r.enqueued]), [['a.test', ['schedapp.tasks.noop']]]);
    const error = (JSON.parse(result.stderr) as { error: { code: string; message: string; sites: string[] } }).error;
    assert.deepEqual([error.code, error.sites], ['ERR_USAGE', ['b.test']]);
    assert.match(error.message, /failed on 1 of 2 sites: site b\.test: site "b\.test" has no scheduled method for event "hourly_long"/);
    assert.equal(readLog(bench, 'a.test').length, 1);
  });
});
