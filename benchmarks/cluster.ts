// `npm run benchmark -- --cluster`: bench-worker's processing on a 3-master, 3-replica Redis Cluster with
// its queues spread over the shards, next to the same drains on one redis-server, in one run (issue 14).
// Each run and target: N jobs enqueued in bulk over short, default and long (a third each), then drained
// by `bench worker --burst --queue short,default,long --num-workers 2 --concurrency 25 --quiet` (the
// compiled CLI, spawn to exit); then N jobs on default alone, drained by 1 x 50. The targets alternate
// first/second from run to run; medians are reported, with the Redis CPU (all masters) per job.
// Not a target: on this 2-core machine six redis-servers and the workers share two cores (see
// docs/performance.md, "Redis Cluster").
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { BenchClient } from '../dist/index.js';
import { writeTempBench } from './adapters/bench-worker.ts';
import { startCliWorker } from './lib/cli-worker.ts';
import { onExit, startPrivateRedis } from './lib/redis-server.ts';
import { median } from './lib/stats.ts';
import { monoMs } from './lib/types.ts';
import { spreadBenchId, startCluster } from '../test/helpers/cluster.ts';

const QUEUES = ['short', 'default', 'long'] as const;
const SITE = 'bench.local';
const METHOD = 'bench.tasks.noop';

interface Target {
  label: string;
  /** common_site_config.json keys that point the bench at this Redis. */
  config: Record<string, unknown>;
  /** Direct connections to each master, for INFO cpu and FLUSHALL between drains. */
  masters(): Redis[];
}

interface Figures {
  enqueue: number[];
  spread: number[];
  single: number[];
  cpuSpread: number[];
  cpuSingle: number[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function redisCpuMicros(masters: readonly Redis[]): Promise<number> {
  let total = 0;
  for (const m of masters) {
    const info = await m.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    total += (field('used_cpu_sys') + field('used_cpu_user')) * 1e6;
  }
  return total;
}

/** Bulk-enqueue `n` no-op jobs over `queues` (in chunks of 1,000); jobs/s. */
async function fill(client: BenchClient, queues: readonly string[], n: number): Promise<number> {
  const startedAt = monoMs();
  const per = Math.ceil(n / queues.length);
  await Promise.all(
    queues.map(async (queue) => {
      for (let done = 0; done < per; done += 1000) {
        const batch = Array.from({ length: Math.min(1000, per - done) }, () => ({}));
        await client.enqueueMany(METHOD, batch, { site: SITE, queue });
      }
    }),
  );
  return (per * queues.length) / ((monoMs() - startedAt) / 1000);
}

/** One burst drain through the CLI; jobs/s spawn to exit, and Redis CPU µs per job. */
async function drain(benchPath: string, target: Target, queues: readonly string[], n: number, numWorkers: number, concurrency: number): Promise<{ rate: number; cpu: number }> {
  const before = await redisCpuMicros(target.masters());
  const worker = startCliWorker({ benchPath, queues, numWorkers, concurrency, burst: true, quiet: true, stopAfter: 0 });
  const result = await worker.done;
  if (result.count < n) throw new Error(`${target.label}: ${result.count} of ${n} jobs ran`);
  const wallMs = result.cli?.wallMs ?? 0;
  return { rate: n / (wallMs / 1000), cpu: ((await redisCpuMicros(target.masters())) - before) / n };
}

async function measure(target: Target, n: number, figures: Figures): Promise<void> {
  const benchPath = writeTempBench({ host: '127.0.0.1', port: 1 });
  onExit(() => rmSync(benchPath, { recursive: true, force: true }));
  const common = { bench_id: 'bwcluster', max_queued_jobs: 100_000_000, ...target.config };
  writeFileSync(path.join(benchPath, 'sites', 'common_site_config.json'), `${JSON.stringify(common, null, 2)}\n`);
  const client = await BenchClient.open({ benchPath });
  try {
    for (const m of target.masters()) await m.flushall();
    figures.enqueue.push(await fill(client, QUEUES, n));
    const spread = await drain(benchPath, target, QUEUES, n, 2, 25);
    figures.spread.push(spread.rate);
    figures.cpuSpread.push(spread.cpu);
    await fill(client, ['default'], n);
    const single = await drain(benchPath, target, ['default'], n, 1, 50);
    figures.single.push(single.rate);
    figures.cpuSingle.push(single.cpu);
    log(`${target.label}: enqueue ${figures.enqueue.at(-1)?.toFixed(0)}/s, 3 queues 2 x 25 ${spread.rate.toFixed(0)}/s, default 1 x 50 ${single.rate.toFixed(0)}/s`);
  } finally {
    await client.close();
    rmSync(benchPath, { recursive: true, force: true });
  }
}

export async function runClusterBenchmark(options: { quick: boolean; runs: number | undefined }): Promise<string> {
  const n = options.quick ? 12_000 : 60_000;
  const runs = options.runs ?? (options.quick ? 1 : 3);
  const redis = await startPrivateRedis();
  const single = new Redis(redis.port, redis.host);
  const cluster = await startCluster();
  onExit(() => void cluster.stop());
  try {
    const benchId = await spreadBenchId(cluster, 'bwcluster', QUEUES);
    const clusterMasters = async () => Promise.all(QUEUES.map((q) => cluster.masterOf(`bw:{${benchId}:${q}}:marker`)));
    const masterClients = (await clusterMasters()).map((node) => node.client);
    const targets: Target[] = [
      { label: 'one redis-server', config: { redis_queue: redis.url }, masters: () => [single] },
      { label: 'Cluster, 3 shards', config: { redis_queue_cluster: cluster.urls, bench_id: benchId }, masters: () => masterClients },
    ];
    const figures = new Map(targets.map((t) => [t.label, { enqueue: [], spread: [], single: [], cpuSpread: [], cpuSingle: [] } as Figures]));
    for (let run = 1; run <= runs; run++) {
      for (const target of run % 2 === 1 ? targets : [...targets].reverse()) await measure(target, n, figures.get(target.label) as Figures);
    }
    const rows = targets.map((t) => {
      const f = figures.get(t.label) as Figures;
      return `| ${t.label} | ${median(f.enqueue).toFixed(0)} | ${median(f.spread).toFixed(0)} | ${median(f.cpuSpread).toFixed(1)} | ${median(f.single).toFixed(0)} | ${median(f.cpuSingle).toFixed(1)} |`;
    });
    const [one, many] = targets.map((t) => figures.get(t.label) as Figures) as [Figures, Figures];
    return [
      `## bench-worker on a Redis Cluster (${n.toLocaleString('en-US')} jobs per drain, median of ${runs} run(s))`,
      '',
      '| Redis | bulk enqueue, 3 queues (jobs/s) | 3 queues, 2 x 25 (jobs/s) | Redis CPU µs/job | default only, 1 x 50 (jobs/s) | Redis CPU µs/job |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      `Cluster / one server: bulk enqueue ${(median(many.enqueue) / median(one.enqueue)).toFixed(2)}x, 3 queues ${(median(many.spread) / median(one.spread)).toFixed(2)}x, one queue ${(median(many.single) / median(one.single)).toFixed(2)}x.`,
    ].join('\n');
  } finally {
    single.disconnect();
    await cluster.stop();
    redis.stop();
  }
}
