// Day one without copying folders by hand, through the real `bench` binary: `bench init` makes a bench,
// `bench new-site` a site with its database, `bench new-app` an app whose example job runs as it is;
// `bench --version`, shell completion generated from the commands, and examples in --help.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { BenchClient } from '../../src/client.ts';
import { REPO_ROOT } from '../helpers/bench.ts';
import { type CliResult, ok, runBench, shown } from '../helpers/cli.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const run = promisify(execFile);
const root = mkdtempSync(path.join(os.tmpdir(), 'bw-day-one-'));
let redis: TestRedis | undefined;
after(async () => {
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function newBench(name: string, args: string[] = []): Promise<string> {
  ok(await runBench(['init', name, ...args], { cwd: root }));
  return path.join(root, name);
}

describe('bench init', () => {
  it('makes a bench: folders, common_site_config.json with defaults and a random bench_id, a Procfile', async () => {
    const out = ok(await runBench(['init', 'b1'], { cwd: root }));
    assert.match(out, /^bench created in .*b1\nnext:\n {2}cd b1\n/);
    const dir = path.join(root, 'b1');
    for (const folder of ['apps', 'sites', 'config', 'logs']) assert.ok(existsSync(path.join(dir, folder)), folder);
    const config = JSON.parse(readFileSync(path.join(dir, 'sites/common_site_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config['redis_queue'], 'redis://127.0.0.1:11000');
    assert.match(String(config['bench_id']), /^b[a-z2-7]{10}$/);
    assert.equal(config['background_workers'], 1);
    const procfile = readFileSync(path.join(dir, 'Procfile'), 'utf8');
    for (const entry of ['redis_queue', 'worker', 'schedule']) assert.match(procfile, new RegExp(`^${entry}: `, 'm'), `Frappe's ${entry} entry`);
    const other = JSON.parse(readFileSync(path.join(await newBench('b2'), 'sites/common_site_config.json'), 'utf8')) as Record<string, unknown>;
    assert.notEqual(other['bench_id'], config['bench_id'], 'each bench its own id');
    // The new bench is a bench: commands run in it find it, and its config loads.
    assert.match(ok(await runBench(['new-app', 'probe'], { cwd: dir })), /^app probe created/);
  });

  it('refuses a folder that is not empty, and a bad redis URL, writing nothing', async () => {
    const dir = path.join(root, 'full');
    await newBench('full');
    const before = readFileSync(path.join(dir, 'sites/common_site_config.json'), 'utf8');
    const again = await runBench(['init', 'full'], { cwd: root });
    assert.equal(again.code, 1, shown(again));
    assert.match(again.stderr, /Error \[ERR_ALREADY_EXISTS\]: .*full exists and is not empty/);
    assert.equal(readFileSync(path.join(dir, 'sites/common_site_config.json'), 'utf8'), before);
    const bad = await runBench(['init', 'badurl', '--redis-queue', 'http://x'], { cwd: root });
    assert.equal(bad.code, 1, shown(bad));
    assert.match(bad.stderr, /ERR_CONFIG_INVALID.*redis_queue/);
    assert.ok(!existsSync(path.join(root, 'badurl')));
  });
});

describe('bench new-site and new-app', () => {
  it('make a site with its database and an app whose example job runs', { timeout: 60_000 }, async () => {
    redis = await startRedis();
    const dir = await newBench('b3', ['--redis-queue', redis.url]);
    const site = ok(await runBench(['new-site', 'site1.localhost'], { cwd: dir }));
    assert.equal(site, `site site1.localhost created (database: ${path.join(dir, 'sites/site1.localhost/site.db')})\n`);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'sites/site1.localhost/site_config.json'), 'utf8')), {});
    const db = new Database(path.join(dir, 'sites/site1.localhost/site.db'), { readonly: true });
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    db.close();
    for (const table of ['error_log', 'scheduled_job_log', 'scheduled_job_type']) assert.ok(tables.includes(table), `${table} in ${tables.join(', ')}`);

    assert.match(ok(await runBench(['new-app', 'myapp'], { cwd: dir })), /^app myapp created in apps\/myapp\/myapp\/ \(tasks\.ts, hooks\.ts\)\n/);
    assert.match(readFileSync(path.join(dir, 'apps/myapp/myapp/hooks.ts'), 'utf8'), /export const before_job: string\[\] = \[\];\nexport const after_job: string\[\] = \[\];[\s\S]*\/\/ export const scheduler_events = \{/);
    const id = ok(await runBench(['--site', 'site1.localhost', 'enqueue', 'myapp.tasks.hello', '--kwargs', '{"name":"Ada"}'], { cwd: dir })).trim();
    ok(await runBench(['worker', '--burst', '--quiet'], { cwd: dir }));
    const client = await BenchClient.open({ benchPath: dir });
    try {
      const job = await waitFor(async () => {
        const found = await client.getJob('site1.localhost', id);
        return found?.status === 'finished' ? found : undefined;
      }, { what: 'the example job to finish' });
      assert.deepEqual(job.result, { greeting: 'Hello, Ada, from site1.localhost' });
    } finally {
      await client.close();
    }
  });

  it('refuse bad or taken names, and leave no site behind when its database cannot be made', async () => {
    const dir = await newBench('b4');
    const expectFail = async (args: string[], code: number, stderr: RegExp) => {
      const r = await runBench(args, { cwd: dir });
      assert.equal(r.code, code, shown(r));
      assert.match(r.stderr, stderr);
    };
    await expectFail(['new-site', '../evil'], 2, /ERR_USAGE.*invalid site name "\.\.\/evil"/);
    await expectFail(['new-site', 'all'], 2, /a site cannot be named "all"/);
    ok(await runBench(['new-site', 'a.localhost'], { cwd: dir }));
    await expectFail(['new-site', 'a.localhost'], 1, /ERR_ALREADY_EXISTS.*site "a\.localhost" exists already/);
    await expectFail(['new-site', 'pg.localhost', '--db-type', 'postgres'], 2, /needs --db-url/);
    await expectFail(['new-site', 'pg.localhost', '--db-type', 'postgres', '--db-url', 'postgres://nobody@127.0.0.1:1/none'], 1, /^Error \[ERR_DB\]: the database of site "pg\.localhost" could not be made, so the site was not created: .*ECONNREFUSED/);
    assert.ok(!existsSync(path.join(dir, 'sites/pg.localhost')), 'no half-made site');
    await expectFail(['new-app', 'my-app'], 2, /ERR_USAGE.*invalid app name "my-app": letters, digits and "_"/);
    await expectFail(['new-app', '1app'], 2, /invalid app name/);
    ok(await runBench(['new-app', 'shop'], { cwd: dir }));
    writeFileSync(path.join(dir, 'apps/shop/shop/tasks.ts'), '// mine\n');
    await expectFail(['new-app', 'shop'], 1, /ERR_ALREADY_EXISTS.*app "shop" exists already/);
    assert.equal(readFileSync(path.join(dir, 'apps/shop/shop/tasks.ts'), 'utf8'), '// mine\n', 'nothing overwritten');
  });
});

describe('bench --version, completion and help', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(ok(await runBench(['--version'], { cwd: root })), `${version}\n`);
  });

  it('completion bash completes commands, subcommands, options and choices from the command tree', async () => {
    const script = path.join(root, 'completion.bash');
    writeFileSync(script, ok(await runBench(['completion', 'bash'], { cwd: root })));
    const complete = async (line: string): Promise<string[]> => {
      const words = line.split(' ');
      const { stdout } = await run('bash', ['-c', `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _bench_complete; printf '%s\\n' "\${COMPREPLY[@]}"`, script, ...words]);
      return stdout.split('\n').filter(Boolean);
    };
    assert.deepEqual(await complete('bench new-'), ['new-site', 'new-app']);
    assert.deepEqual(await complete('bench jobs l'), ['list']);
    assert.ok((await complete('bench jobs ')).includes('workers'));
    assert.deepEqual(await complete('bench --site s1 jobs list --st'), ['--status']);
    assert.deepEqual(await complete('bench --log-format '), ['pretty', 'json']);
    assert.deepEqual(await complete('bench completion '), ['bash', 'zsh', '--help']);
    assert.deepEqual(await complete('bench worker --queue short --bu'), ['--burst']);
  });

  it('completion zsh runs the same completion through bashcompinit', async () => {
    const zsh = ok(await runBench(['completion', 'zsh'], { cwd: root }));
    assert.match(zsh, /autoload -U \+X bashcompinit && bashcompinit/);
    assert.match(zsh, /complete -o default -F _bench_complete bench\n/);
    assert.match(zsh, /'jobs'\) echo 'list show retry delete cancel requeue-failed workers/);
    const bad = await runBench(['completion', 'fish'], { cwd: root });
    assert.equal(bad.code, 2);
  });

  it('--help of the main commands ends with examples', async () => {
    for (const [args, example] of [
      [['--help'], '$ bench init my-bench && cd my-bench'],
      [['worker', '--help'], '$ bench worker --queue short,default --num-workers 4'],
      [['enqueue', '--help'], '--job-id nightly-sync --deduplicate'],
      [['jobs', '--help'], 'jobs show F3Wm'],
      [['new-site', '--help'], '$ bench new-site site1.localhost'],
    ] as const) {
      const out = ok(await runBench([...args], { cwd: root }));
      assert.ok(out.includes('\nExamples:\n'), `${args.join(' ')}: ${out}`);
      assert.ok(out.includes(example), `${args.join(' ')}: ${out}`);
    }
  });
});
