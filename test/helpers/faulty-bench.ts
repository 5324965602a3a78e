// A bench whose worker reaches its private Redis through a fault proxy (test/helpers/fault-proxy.ts), for
// the network fault tests: `bench` goes through the proxy, `client` (same bench_id) straight to Redis, so
// that a test's own calls and checks are not hit by the faults it injects.
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchClient } from '../../src/client.ts';
import { makeBench, type TestBench } from './bench.ts';
import { FaultProxy } from './fault-proxy.ts';
import { startRedis, type TestRedis } from './redis-server.ts';

export interface FaultyBench {
  redis: TestRedis;
  proxy: FaultProxy;
  bench: TestBench;
  client: BenchClient;
  /** A file of its own for jobs that append to one (testapp.tasks.chaos), removed with the bench. */
  runsFile: string;
}

/** A new FaultyBench with `extra` common config; `onCleanup` is handed what removes it all. */
export async function faultyBench(onCleanup: (cleanup: () => Promise<void>) => void, extra: Record<string, unknown> = {}): Promise<FaultyBench> {
  const common = { max_queued_jobs: 100_000, ...extra };
  const redis = await startRedis();
  const proxy = new FaultProxy(redis.port);
  const port = await proxy.start();
  const bench = makeBench({ redisUrl: `redis://127.0.0.1:${port}`, common });
  const direct = makeBench({ redisUrl: redis.url });
  direct.writeCommon({ ...common, bench_id: bench.benchId });
  const client = await BenchClient.open({ benchPath: direct.path });
  const runsFile = path.join(os.tmpdir(), `bw-faults-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  onCleanup(async () => {
    await client.close();
    await proxy.close();
    await redis.stop();
    bench.remove();
    direct.remove();
    rmSync(runsFile, { force: true });
  });
  return { redis, proxy, bench, client, runsFile };
}
