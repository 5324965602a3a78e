// `node --import tsx benchmarks/find.ts [--jobs N] [--no-cost]`: the dashboard's find (src/monitor/find.ts) on a bench
// keeping 1,000,000 jobs (default; half queued on `default`, half finished on `short`, two sites) whose
// kwargs hold `customer` (10,000 distinct values) indexed through dashboard_index_keys: p50 and max of 20
// lookups per query kind (target: under 100 ms). First, on the empty Redis, what the index costs an
// enqueue: single (50 in flight) and bulk enqueues with dashboard_index_keys unset and set, turn by turn,
// with their rate and Redis time per job (the scripts' time, from INFO commandstats); --no-cost skips it.
import { Redis } from 'ioredis';
import { BenchClient } from '../src/client.ts';
import { loadBenchConfig } from '../src/config/load.ts';
import { findJobs, type FindOptions } from '../src/monitor/find.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { makeBench, type TestBench } from '../test/helpers/bench.ts';
import { startPrivateRedis } from './lib/redis-server.ts';
import { median, runConcurrently } from './lib/stats.ts';

const at = process.argv.indexOf('--jobs');
const jobs = at > 0 ? Number(process.argv[at + 1]) : 1_000_000;
const [A, B] = ['a.test', 'b.test'];
const ECHO = 'testapp.tasks.echo';
const ADD = 'testapp.tasks.add';
const CUSTOMERS = 10_000;
const LOOKUPS = 20;
const customer = (i: number) => `CUST-${String(i % CUSTOMERS).padStart(5, '0')}`;

const redis = await startPrivateRedis();
const admin = new Redis(redis.port, redis.host);
const benches: TestBench[] = [];
const clients: BenchClient[] = [];

async function openBench(name: string, common: Record<string, unknown>): Promise<{ bench: TestBench; client: BenchClient }> {
  const bench = makeBench({ redisUrl: redis.url, common: { bench_id: name, max_queued_jobs: 100_000_000, ...common }, sites: { [A]: {}, [B]: {} } });
  bench.benchId = name;
  benches.push(bench);
  const client = await BenchClient.open({ benchPath: bench.path });
  clients.push(client);
  return { bench, client };
}

/** Redis time (µs) the enqueue scripts took since the last call, and their calls. */
async function scriptTime(): Promise<{ usec: number; calls: number }> {
  const stats = [...String(await admin.info('commandstats')).matchAll(/^cmdstat_(evalsha|eval):calls=(\d+),usec=(\d+)/gm)];
  await admin.config('RESETSTAT');
  return { usec: stats.reduce((t, m) => t + Number(m[3]), 0), calls: stats.reduce((t, m) => t + Number(m[2]), 0) };
}

/** Rate and Redis time per job of single and bulk enqueues on a fresh bench, with or without the index. */
async function enqueueCost(round: number, indexKeys: readonly string[] | undefined): Promise<void> {
  const { client } = await openBench(`cost${round}${indexKeys ? 'idx' : 'none'}`, indexKeys ? { dashboard_index_keys: indexKeys } : {});
  await client.enqueue(ECHO, { site: A, kwargs: { customer: customer(0) } });
  const label = indexKeys ? `index ["customer"]` : 'no index keys';
  await scriptTime();
  const singles = 20_000;
  let started = performance.now();
  await runConcurrently(singles, 50, (i) => client.enqueue(ECHO, { site: i % 2 === 0 ? A : B, kwargs: { customer: customer(i), n: i } }));
  const single = { ms: performance.now() - started, ...(await scriptTime()) };
  const bulk = 100_000;
  started = performance.now();
  await client.enqueueMany(ECHO, Array.from({ length: bulk }, (_, i) => ({ customer: customer(i), n: i })), { site: A });
  const many = { ms: performance.now() - started, ...(await scriptTime()) };
  const row = (what: string, n: number, r: { ms: number; usec: number; calls: number }) =>
    `${what} ${String(Math.round((n / r.ms) * 1000)).padStart(7)} jobs/s  Redis ${(r.usec / n).toFixed(2).padStart(5)} us/job (${r.calls} calls)`;
  console.log(`round ${round} ${label.padEnd(18)} ${row('single x50', singles, single)}   ${row('bulk 100k', bulk, many)}`);
}

/** p50 and max of `LOOKUPS` finds, one query each (cycled), and what the last one found. */
async function timeFind(conn: Redis, name: string, queries: readonly string[], options: FindOptions = {}): Promise<void> {
  const config = loadBenchConfig((benches.at(-1) as TestBench).path);
  await findJobs(conn, config, queries[0] as string, options);
  const times: number[] = [];
  let [found, hits, partial, via] = [0, 0, 0, ''];
  for (let i = 0; i < LOOKUPS; i++) {
    const started = performance.now();
    const result = await findJobs(conn, config, queries[i % queries.length] as string, options);
    times.push(performance.now() - started);
    [found, via] = [found + result.jobs.length, result.via];
    if (result.jobs.length > 0) hits++;
    if (result.partial) partial++;
  }
  const p50 = median(times).toFixed(1).padStart(6);
  console.log(`${name.padEnd(46)} p50 ${p50} ms  max ${Math.max(...times).toFixed(1).padStart(6)} ms  via ${via.padEnd(6)} ${hits}/${LOOKUPS} found (${(found / LOOKUPS).toFixed(1)} jobs each)${partial > 0 ? `, ${partial} partial` : ''}`);
}

/** Mark the pending jobs of a queue finished (as a worker would leave them), straight from its lanes. */
const FINISH = `
local prefix, site, expireAt, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lane = prefix .. 'lane:' .. site
local ids = redis.call('LPOP', lane, 5000)
if not ids then return 0 end
for _, id in ipairs(ids) do
  redis.call('HSET', prefix .. 'job:' .. id, 'status', 'finished', 'started', now, 'ended', now, 'attempts', 1)
  redis.call('ZADD', prefix .. 'finished', expireAt, id)
end
redis.call('DECRBY', prefix .. 'queued', #ids)
if redis.call('LLEN', lane) == 0 then redis.call('LREM', prefix .. 'sites', 0, site) end
return #ids`;

try {
  if (!process.argv.includes('--no-cost')) console.log('enqueue cost (empty Redis):');
  for (const round of process.argv.includes('--no-cost') ? [] : [1, 2]) {
    await enqueueCost(round, undefined);
    await enqueueCost(round, ['customer']);
  }
  await admin.flushall();

  const { client } = await openBench('find', { dashboard_index_keys: ['customer'] });
  const fillStarted = performance.now();
  const CHUNK = 50_000;
  const queued: string[] = [];
  const finished: string[] = [];
  for (let done = 0; done < jobs; done += CHUNK) {
    const n = Math.min(CHUNK, jobs - done);
    const queue = done < jobs / 2 ? 'default' : 'short';
    const ids = await client.enqueueMany(ECHO, Array.from({ length: n }, (_, i) => ({ customer: customer(done + i), n: done + i })), { site: (done / CHUNK) % 2 === 0 ? A : B, queue });
    (queue === 'default' ? queued : finished).push(...ids.filter((_, i) => i % 5000 === 0));
  }
  const short = queueKeys('find', 'short');
  const now = Date.now();
  for (const site of [A, B]) while (Number(await admin.eval(FINISH, 0, short.prefix, site, now + 3_600_000, now)) > 0);
  await client.enqueueMany(ADD, Array.from({ length: 100 }, (_, i) => ({ customer: customer(i), a: i, b: 1 })), { site: B });
  const indexKeys = (await admin.info('keyspace')).match(/keys=(\d+)/)?.[1];
  console.log(`\n${jobs} jobs (${jobs / 2} queued, ${jobs / 2} finished; ${CUSTOMERS} customers) + 100 ${ADD} at the queue's end, written in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s; ${indexKeys} keys in all`);
  console.log(`used_memory ${(await admin.info('memory')).match(/used_memory_human:(\S+)/)?.[1]}\n`);

  const conn = new Redis(redis.port, redis.host);
  // The first 50,000 jobs of a.test's lane are those a prefix search reads (prefix.ts PREFIX_SCAN_LIMIT).
  const head = queued.slice(0, 10);
  const spread = queued.filter((_, i) => i % 10 === 5).slice(0, 20);
  const shortId = (id: string) => id.slice(id.indexOf('||') + 2);
  await timeFind(conn, 'customer=CUST-00042', ['customer=CUST-00042']);
  await timeFind(conn, 'customer=<20 different customers>', Array.from({ length: LOOKUPS }, (_, i) => `customer=${customer(i * 397)}`));
  await timeFind(conn, 'customer=CUST-00042, one site (a.test)', ['customer=CUST-00042'], { sites: [A] });
  await timeFind(conn, 'exact id (full)', [...queued.slice(0, 10), ...finished.slice(0, 10)]);
  await timeFind(conn, 'exact id (short, over both sites)', [...queued.slice(0, 10), ...finished.slice(0, 10)].map(shortId));
  const prefix = (id: string) => id.slice(0, id.indexOf('||') + 10);
  await timeFind(conn, 'id prefix (site||8 chars, head of the queue)', head.map(prefix));
  await timeFind(conn, 'id prefix (site||8 chars, anywhere queued)', spread.map(prefix));
  await timeFind(conn, 'id prefix (site||8 chars, finished job)', finished.slice(0, 20).map(prefix));
  await timeFind(conn, 'id prefix (8 chars, no site, head)', head.map((id) => shortId(id).slice(0, 8)));
  await timeFind(conn, `method=${ADD} (100 at the end)`, [`method=${ADD}`]);
  await timeFind(conn, `site=${B}`, [`site=${B}`]);
  conn.disconnect();
} finally {
  await Promise.all(clients.map((c) => c.close()));
  admin.disconnect();
  redis.stop();
  benches.forEach((b) => b.remove());
}
