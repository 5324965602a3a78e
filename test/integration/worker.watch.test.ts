// `bench worker --watch`: a change under apps/ or to a site config recycles the job children, so
// the next job runs the new code (a fresh child imports it; nothing is re-imported in place).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BenchClient } from '../../src/queue/client.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { startWorker, waitForStatus } from '../helpers/jobs.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

let redis: TestRedis;
let bench: TestBench;
let client: BenchClient;
const SITE = 'site1.test';

before(async () => {
  redis = await startRedis();
  bench = makeBench({ redisUrl: redis.url });
  client = await BenchClient.open({ benchPath: bench.path });
});

after(async () => {
  await client.close();
  await redis.stop();
  bench.remove();
});

async function run(method: string): Promise<unknown> {
  const id = await client.enqueue(method, { site: SITE });
  return (await waitForStatus(redis.client, bench, 'default', id, 'finished')).result;
}

describe('bench worker --watch', () => {
  it('runs the new code of a changed job module, and sees an edited site config', { timeout: 60_000 }, async () => {
    const module = path.join(bench.path, 'apps/testapp/testapp/live.ts');
    writeFileSync(module, "export function version() { return 'v1'; }\n");
    const w = startWorker(bench, { watch: true, queues: ['default'] });
    try {
      assert.equal(await run('testapp.live.version'), 'v1');
      writeFileSync(module, "export function version() { return 'v2'; }\n");
      await waitFor(async () => (await run('testapp.live.version')) === 'v2', { what: 'the new code to run', timeoutMs: 20_000 });
      const sitePath = path.join(bench.path, 'sites', SITE, 'site_config.json');
      writeFileSync(sitePath, JSON.stringify({ custom_key: 'edited' }));
      await waitFor(async () => ((await run('testapp.tasks.context')) as { custom: unknown }).custom === 'edited', {
        what: 'the edited site config',
        timeoutMs: 20_000,
      });
    } finally {
      await w.stop();
    }
  });
});
