// `bench worker --watch`: a change under apps/ or to a site config recycles the job children, so
// the next job runs the new code (a fresh child imports it; nothing is re-imported in place).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { useBenchSuite } from '../helpers/suite.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SITE = 'site1.test';
const suite = useBenchSuite();

async function run(method: string): Promise<unknown> {
  const id = await suite.client.enqueue(method, { site: SITE });
  return (await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished')).result;
}

describe('bench worker --watch', () => {
  it('runs the new code of a changed job module, and sees an edited site config', { timeout: 60_000 }, async () => {
    const module = path.join(suite.bench.path, 'apps/testapp/testapp/live.ts');
    writeFileSync(module, "export function version() { return 'v1'; }\n");
    const w = startSupervisor(suite.bench, { watch: true, queues: ['default'] });
    try {
      assert.equal(await run('testapp.live.version'), 'v1');
      writeFileSync(module, "export function version() { return 'v2'; }\n");
      await waitFor(async () => (await run('testapp.live.version')) === 'v2', { what: 'the new code to run', timeoutMs: 20_000 });
      const sitePath = path.join(suite.bench.path, 'sites', SITE, 'site_config.json');
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
