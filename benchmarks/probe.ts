// `npm run benchmark:probe -- [--systems a,b] [--jobs N] [--concurrency C] [--children K] [--runs R]`: a quick,
// focused measurement for development: pre-loaded drains of N no-op jobs on one private Redis, per system,
// with jobs/s, Redis CPU µs and commands per job, and worker peak RSS. The full benchmark (run.ts) is what
// figures in docs/performance.md come from.
import { BeeQueueAdapter } from './adapters/bee-queue.ts';
import { BenchWorkerAdapter } from './adapters/bench-worker.ts';
import { BullMQAdapter } from './adapters/bullmq.ts';
import { startPrivateRedis } from './lib/redis-server.ts';
import { RedisStats } from './lib/redis-stats.ts';
import { processScenario } from './lib/scenarios.ts';
import type { Adapter } from './lib/types.ts';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? (process.argv[at + 1] as string) : fallback;
}

const systems = option('systems', 'bench-worker,bullmq,bee-queue').split(',');
const jobs = Number(option('jobs', '50000'));
const concurrency = Number(option('concurrency', '50'));
const children = Number(option('children', '1'));
const runs = Number(option('runs', '1'));
const adapters: Adapter[] = [new BenchWorkerAdapter(), new BullMQAdapter(false), new BeeQueueAdapter(false)].filter((a) => systems.includes(a.id));

const redis = await startPrivateRedis();
const stats = new RedisStats(redis.port);
try {
  for (let run = 1; run <= runs; run++) {
    for (const adapter of adapters) {
      await adapter.setup({ host: redis.host, port: redis.port });
      try {
        const r = await processScenario(adapter, stats, jobs, { concurrency, children: adapter.ours ? children : 1 });
        console.log(
          `${adapter.label.padEnd(14)} c=${concurrency}${adapter.ours && children > 1 ? ` x${children}` : ''}: ${Math.round(r.rate).toLocaleString('en')} jobs/s, ` +
            `Redis ${r.cpu.toFixed(1)} µs/job, ${r.calls.toFixed(1)} cmds/job, peak RSS ${r.rssMiB.toFixed(0)} MiB` +
            (r.wallRate === undefined ? '' : `; \`bench worker\` spawn to exit: ${Math.round(r.wallRate).toLocaleString('en')} jobs/s`),
        );
      } finally {
        await adapter.close();
      }
    }
  }
} finally {
  await stats.close();
  redis.stop();
}
process.exit(0);
