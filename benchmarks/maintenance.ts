// `node --import tsx benchmarks/maintenance.ts [--jobs N]`: what the maintenance commands cost Redis on a
// deep queue (default 1,000,000 jobs, half of each of two sites, taking turns) on one private Redis:
// per command its calls (script calls and window reads), their Redis time on average, and the slowest
// (SLOWLOG). The figures of docs/monitoring.md ("Cost") come from here.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { BenchClient } from '../src/client.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { fillJobs } from '../test/helpers/bulk-jobs.ts';
import { startPrivateRedis } from './lib/redis-server.ts';

const at = process.argv.indexOf('--jobs');
const jobs = at > 0 ? Number(process.argv[at + 1]) : 1_000_000;
const [A, B] = ['a.test', 'b.test'];

const redis = await startPrivateRedis();
const admin = new Redis(redis.port, redis.host);
const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-benchmark-maintenance-'));
for (const site of [A, B]) {
  mkdirSync(path.join(dir, 'sites', site), { recursive: true });
  writeFileSync(path.join(dir, 'sites', site, 'site_config.json'), '{}\n');
}
writeFileSync(path.join(dir, 'sites', 'common_site_config.json'), JSON.stringify({ redis_queue: redis.url, bench_id: 'maintenance', max_queued_jobs: 100_000_000 }));
const client = await BenchClient.open({ benchPath: dir });

const MEASURED = /^cmdstat_(evalsha|eval|lrange|zrange|zrevrange|lpos):calls=(\d+),usec=(\d+)/gm;

/**
 * Run `action` and print its script calls and window reads with their Redis time per call (a script's
 * time includes its own commands; its inner LRANGE/LPOS are counted among the reads too), and the slowest
 * call (over 1 ms, from SLOWLOG; on a loaded machine a preempted redis-server shows here).
 */
async function measure(name: string, action: () => Promise<unknown>): Promise<void> {
  await admin.config('SET', 'slowlog-log-slower-than', '1000');
  await admin.config('SET', 'slowlog-max-len', '100000');
  await admin.config('RESETSTAT');
  await admin.slowlog('RESET');
  const started = Date.now();
  const result = await action();
  const wallMs = Date.now() - started;
  const stats = [...String(await admin.info('commandstats')).matchAll(MEASURED)];
  const log = (await admin.slowlog('GET', -1)) as [number, number, number, string[]][];
  // Top-level calls only: a script's own commands are logged too, spelled in capitals in our Lua.
  const slowest = Math.max(0, ...log.filter(([, , , args]) => /^[a-z]/.test(args[0] ?? '') && !/^(config|slowlog|info)$/.test(args[0] ?? '')).map(([, , us]) => us));
  const sum = (pick: (m: RegExpMatchArray) => boolean, at: 2 | 3) => stats.filter(pick).reduce((total, m) => total + Number(m[at]), 0);
  const isScript = (m: RegExpMatchArray) => m[1] === 'evalsha' || m[1] === 'eval';
  const perCall = (usec: number, calls: number) => (calls === 0 ? '-' : `${(usec / calls).toFixed(0)} us`);
  const [scripts, reads] = [sum(isScript, 2), sum((m) => !isScript(m), 2)];
  console.log(
    `${name.padEnd(34)} ${String(JSON.stringify(result)).slice(0, 10).padEnd(10)} ` +
      `${String(scripts).padStart(5)} scripts ${perCall(sum(isScript, 3), scripts).padStart(7)}  ${String(reads).padStart(5)} reads ${perCall(sum((m) => !isScript(m), 3), reads).padStart(7)}  ` +
      `slowest ${slowest > 0 ? `${(slowest / 1000).toFixed(1)} ms` : '< 1 ms'}  wall ${wallMs} ms`,
  );
}

try {
  const k = queueKeys('maintenance', 'default');
  const ids = Array.from({ length: jobs }, (_, i) => `${i % 2 === 0 ? A : B}||job-${i}`);
  await fillJobs(admin, k, ids);
  const finished = queueKeys('maintenance', 'short');
  await fillJobs(admin, finished, ids.map((id) => `${id}-done`), { status: 'finished', score: Date.now() + 3_600_000 });
  await fillJobs(admin, finished, Array.from({ length: 1000 }, (_, i) => `${A}||failed-${i}`), { status: 'failed' });
  console.log(`${jobs} queued jobs, ${jobs} finished, 1000 failed`);

  await measure('jobs list (queued, page 1)', async () => (await client.listJobs({ status: 'queued' })).total);
  await measure('jobs list --site (queued)', async () => (await client.listJobs({ status: 'queued', site: A })).total);
  await measure('jobs list --status finished', async () => (await client.listJobs({ status: 'finished', queue: 'short' })).total);
  await measure('jobs list --status finished --site', async () => (await client.listJobs({ status: 'finished', queue: 'short', site: B })).total);
  await measure('jobs cancel (middle)', async () => (await client.cancelJob(undefined, ids[jobs / 2] as string)).status);
  await measure('jobs delete (middle)', async () => (await client.deleteJob(undefined, ids[jobs / 2 + 1] as string)).status);
  await measure('jobs requeue-failed (1,000)', () => client.requeueFailed({ queue: 'short' }));
  await measure('purge-jobs (half the queue)', () => client.purgeJobs(A, { queue: 'default' }));
} finally {
  await client.close();
  admin.disconnect();
  redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
