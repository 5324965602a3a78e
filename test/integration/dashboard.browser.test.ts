// The dashboard in headless Chromium (Debian's chromium, playwright-core), against a real Redis, real
// workers and a real dashboard server: log in; watch a job go from queued to finished live, with no
// reload; retry a failed job and watch it succeed; requeue all failed; find a job by a kwargs value;
// and a site-limited user who cannot see another site's job. Each test keeps a screenshot in
// test-artifacts/. The page must log no console error.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { BenchClient } from '../../src/client.ts';
import type { StartedDashboard } from '../../src/dashboard/app.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { keepScreenshot, launchBrowser, logIn, openPage } from '../helpers/browser.ts';
import { serveDashboard, writeUsers, type TestUser } from '../helpers/dashboard.ts';
import { startSupervisor, waitForStatus, type RunningSupervisor } from '../helpers/jobs.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';

const A = 'a.test';
const B = 'b.test';
let redis: TestRedis;
let bench: TestBench;
let dashboard: StartedDashboard;
let client: BenchClient;
let browser: Browser;
let users: TestUser[];
const files: string[] = [];

before(async () => {
  redis = await startRedis();
  bench = makeBench({ redisUrl: redis.url, sites: { [A]: {}, [B]: {} } });
  users = await writeUsers(
    bench,
    [
      { name: 'admin', password: 'admin-pass', role: 'admin', sites: ['*'] },
      { name: 'alice', password: 'alice-pass', role: 'admin', sites: [A] },
    ],
    { dashboard_index_keys: ['customer'] },
  );
  dashboard = await serveDashboard(bench);
  client = await BenchClient.open({ benchPath: bench.path });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await dashboard?.close();
  await client?.close();
  bench?.remove();
  files.forEach((f) => rmSync(f, { force: true }));
  await redis?.stop();
});

const [admin, alice] = [() => users[0] as TestUser, () => users[1] as TestUser];

async function withWorker<T>(run: (worker: RunningSupervisor) => Promise<T>): Promise<T> {
  const worker = startSupervisor(bench, { queues: ['short', 'default', 'long'] });
  try {
    return await run(worker);
  } finally {
    await worker.stop();
  }
}

describe('dashboard in a browser', () => {
  it('logs in, then shows a job going from queued to finished live, without a reload', { timeout: 60_000 }, async () => {
    const { context, page, consoleErrors } = await openPage(browser, dashboard.url);
    try {
      await logIn(page, admin().name, admin().password);
      await page.waitForSelector('[data-testid=overview] tr[data-queue=default]');
      const id = (await client.enqueue('testapp.tasks.echo', { site: A, kwargs: { hello: 'world' } })) as string;
      await page.goto(`/#/job/${encodeURIComponent(id)}`);
      await page.waitForSelector('[data-testid=status]');
      assert.equal(await page.textContent('[data-testid=status]'), 'queued');
      await page.waitForSelector('[data-testid=live]:text("live")');
      let navigations = 0;
      page.on('framenavigated', () => navigations++);
      await withWorker(async () => {
        await page.waitForSelector('[data-testid=status]:text("finished")', { timeout: 20_000 });
      });
      assert.equal(navigations, 0, 'the page was not reloaded');
      assert.match((await page.textContent('[data-testid=kwargs]')) ?? '', /"hello": "world"/);
      await keepScreenshot(page, 'dashboard-job-live');
      assert.deepEqual(consoleErrors, []);
    } finally {
      await context.close();
    }
  });

  it('retries a failed job and watches it succeed; requeues all failed', { timeout: 60_000 }, async () => {
    const file = path.join(os.tmpdir(), `bw-flaky-${process.pid}-${Date.now()}`);
    files.push(file);
    const flaky = (await client.enqueue('testapp.tasks.flaky', { site: A, kwargs: { file, succeedOn: 2 } })) as string;
    const failing = await Promise.all([1, 2].map(() => client.enqueue('testapp.tasks.fail', { site: A, queue: 'long', kwargs: { message: 'boom' } }) as Promise<string>));
    const { context, page, consoleErrors } = await openPage(browser, dashboard.url);
    try {
      await logIn(page, admin().name, admin().password);
      await withWorker(async () => {
        await waitForStatus(redis.client, bench, 'default', flaky, 'failed');
        for (const id of failing) await waitForStatus(redis.client, bench, 'long', id, 'failed');
        await page.goto(`/#/job/${encodeURIComponent(flaky)}`);
        await page.waitForSelector('[data-testid=status]:text("failed")');
        assert.match((await page.textContent('[data-testid=job-error]')) ?? '', /flaky failure 1/);
        await page.click('button[data-action=retry]');
        await page.waitForSelector('[data-testid=status]:text("finished")', { timeout: 20_000 });
        await keepScreenshot(page, 'dashboard-job-retried');

        await page.goto('/#/queue/long?state=failed');
        await page.waitForSelector(`[data-testid=jobs] tr[data-job="${failing[0]}"]`);
        await page.click('[data-testid=requeue-all]');
        await page.waitForSelector('[data-testid=message]:text("requeued 2 failed job(s)")');
        await keepScreenshot(page, 'dashboard-requeue-all');
      });
      assert.deepEqual(consoleErrors, []);
    } finally {
      await context.close();
    }
  });

  it('finds a job by a kwargs value', { timeout: 60_000 }, async () => {
    const wanted = (await client.enqueue('testapp.tasks.echo', { site: A, kwargs: { customer: 'CUST-001' } })) as string;
    await client.enqueue('testapp.tasks.echo', { site: A, kwargs: { customer: 'CUST-002' } });
    const { context, page, consoleErrors } = await openPage(browser, dashboard.url);
    try {
      await logIn(page, admin().name, admin().password);
      await page.fill('header .search input', 'customer=CUST-001');
      await page.press('header .search input', 'Enter');
      await page.waitForSelector(`[data-testid=found] tr[data-job="${wanted}"]`);
      assert.equal(await page.locator('[data-testid=found] tbody tr').count(), 1);
      assert.match(page.url(), /#\/find\?q=customer%3DCUST-001/, 'the search is in the URL');
      await keepScreenshot(page, 'dashboard-find');
      assert.deepEqual(consoleErrors, []);
    } finally {
      await context.close();
    }
  });

  it("a user limited to one site cannot see another site's job", { timeout: 60_000 }, async () => {
    const mine = (await client.enqueue('testapp.tasks.echo', { site: A, queue: 'short' })) as string;
    const theirs = (await client.enqueue('testapp.tasks.echo', { site: B, queue: 'short' })) as string;
    const { context, page } = await openPage(browser, dashboard.url);
    try {
      await logIn(page, alice().name, alice().password);
      await page.goto('/#/queue/short?state=queued');
      await page.waitForSelector(`[data-testid=jobs] tr[data-job="${mine}"]`);
      assert.equal(await page.locator(`[data-testid=jobs] tr[data-job="${theirs}"]`).count(), 0);
      await page.goto(`/#/job/${encodeURIComponent(theirs)}`);
      await page.waitForSelector('[data-testid=error]');
      assert.match((await page.textContent('[data-testid=error]')) ?? '', /no such job/);
      await keepScreenshot(page, 'dashboard-site-limited');
    } finally {
      await context.close();
    }
  });
});
