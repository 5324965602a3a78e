// `npm run screenshots`: the README's pictures of the dashboard (docs/images/dashboard-overview.png and
// dashboard-job.png), made from a real bench: a private redis-server, the test apps, jobs of two sites
// run by a real worker (some fail), the dashboard, and Debian's chromium through playwright-core.
// Not part of the test run; rerun it when the pages change, and commit the images.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BenchClient } from '../src/client.ts';
import { makeBench, REPO_ROOT } from '../test/helpers/bench.ts';
import { launchBrowser, logIn, openPage } from '../test/helpers/browser.ts';
import { serveDashboard, writeUsers } from '../test/helpers/dashboard.ts';
import { startSupervisor, waitForStatus } from '../test/helpers/jobs.ts';
import { startRedis } from '../test/helpers/redis-server.ts';

const OUT = path.join(REPO_ROOT, 'docs', 'images');
const SITES = ['erp.example.com', 'shop.example.com'];

const redis = await startRedis();
const bench = makeBench({ redisUrl: redis.url, sites: Object.fromEntries(SITES.map((s) => [s, {}])) });
const [admin] = await writeUsers(bench, [{ name: 'admin', password: 'screenshots', role: 'admin', sites: ['*'] }], { dashboard_index_keys: ['customer'] });
const dashboard = await serveDashboard(bench);
const client = await BenchClient.open({ benchPath: bench.path });
const browser = await launchBrowser();
try {
  const worker = startSupervisor(bench, { queues: ['short', 'default', 'long'], numWorkers: 1, concurrency: 4 });
  let shown = '';
  try {
    for (let i = 0; i < 40; i++) {
      const site = SITES[i % 2] as string;
      await client.enqueue('testapp.tasks.add', { site, queue: i % 3 === 0 ? 'short' : 'default', kwargs: { a: i, b: 1, customer: `CUST-${String(i).padStart(3, '0')}` } });
    }
    const failed = (await client.enqueue('testapp.tasks.fail', { site: SITES[0] as string, queue: 'long', kwargs: { message: 'invoice INV-0042: the payment gateway answered 502' } })) as string;
    shown = (await client.enqueue('testapp.tasks.add', { site: SITES[0] as string, kwargs: { a: 40, b: 2, customer: 'CUST-040' } })) as string;
    await waitForStatus(redis.client, bench, 'long', failed, 'failed');
    await waitForStatus(redis.client, bench, 'default', shown, 'finished');
  } finally {
    await worker.stop();
  }
  // Some jobs waiting, so the overview shows queued counts and a latency.
  for (let i = 0; i < 12; i++) await client.enqueue('testapp.tasks.echo', { site: SITES[i % 2] as string, queue: 'long' });
  mkdirSync(OUT, { recursive: true });
  const { context, page } = await openPage(browser, dashboard.url);
  await logIn(page, admin?.name ?? 'admin', 'screenshots');
  await page.waitForSelector('[data-testid=overview] tr[data-queue=long]');
  await page.waitForSelector('[data-testid=chart] canvas');
  await page.screenshot({ path: path.join(OUT, 'dashboard-overview.png') });
  await page.goto(`/#/job/${encodeURIComponent(shown)}`);
  await page.waitForSelector('[data-testid=status]:text("finished")');
  await page.screenshot({ path: path.join(OUT, 'dashboard-job.png') });
  await context.close();
  process.stdout.write(`wrote ${path.join(OUT, 'dashboard-overview.png')} and dashboard-job.png\n`);
} finally {
  await browser.close();
  await dashboard.close();
  await client.close();
  bench.remove();
  await redis.stop();
}
