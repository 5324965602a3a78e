// The dashboard's HTTP API (issue 15) against a real Redis and real workers: every route answers an
// admin and refuses nobody-logged-in; login, rate limiting, the CSRF token, viewers and site-limited
// users on each action; the page's headers (CSP) and assets; the live stream; and the refusal to serve
// beyond loopback with no user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BenchClient } from '../../src/client.ts';
import { dashboardRoutes } from '../../src/dashboard/api/index.ts';
import type { StartedDashboard } from '../../src/dashboard/app.ts';
import { startDashboard } from '../../src/dashboard/app.ts';
import type { BenchError } from '../../src/errors.ts';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { DashboardClient, serveDashboard, writeUsers, type TestUser } from '../helpers/dashboard.ts';
import { silentLog, startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const A = 'a.test';
const B = 'b.test';
let redis: TestRedis;
const benches: TestBench[] = [];
const closers: (() => Promise<void>)[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const close of closers.reverse()) await close();
  benches.forEach((b) => b.remove());
  await redis.stop();
});

async function setup(users?: Omit<TestUser, 'token'>[], common: Record<string, unknown> = {}) {
  const bench = makeBench({ redisUrl: redis.url, sites: { [A]: {}, [B]: {} }, common });
  benches.push(bench);
  const written = users ? await writeUsers(bench, users, common) : [];
  const dashboard = await serveDashboard(bench);
  const client = await BenchClient.open({ benchPath: bench.path });
  closers.push(async () => {
    await dashboard.close();
    await client.close();
  });
  return { bench, dashboard, client, users: written };
}

const USERS: Omit<TestUser, 'token'>[] = [
  { name: 'admin', password: 'admin-pass', role: 'admin', sites: ['*'] },
  { name: 'viewer', password: 'viewer-pass', role: 'viewer', sites: ['*'] },
  { name: 'alice', password: 'alice-pass', role: 'admin', sites: [A] },
];

describe('dashboard API', () => {
  it('with no user configured: an open admin on loopback, and a refusal to bind elsewhere', async () => {
    const { bench, dashboard, client } = await setup();
    const http = new DashboardClient(dashboard.url);
    const me = await http.get<{ user: string; role: string; via: string; login: boolean }>('/api/me');
    assert.equal(me.status, 200);
    assert.deepEqual([me.body.role, me.body.via, me.body.login], ['admin', 'open', false]);
    await assert.rejects(startDashboard({ benchPath: bench.path, host: '0.0.0.0', port: 0, log: silentLog }), (err: BenchError) => {
      assert.equal(err.code, 'ERR_DASHBOARD_INSECURE');
      assert.match(err.message, /set-password/);
      return true;
    });
    // An action works without a session (nothing to protect a token with), from this origin.
    const enqueued = await http.post<{ id: string }>('/api/enqueue', { method: 'testapp.tasks.echo', site: A, kwargs: { x: 1 } });
    assert.equal(enqueued.status, 200, JSON.stringify(enqueued.body));
    assert.equal(await client.getJobStatus(A, enqueued.body.id), 'queued');
    const crossSite = await http.post('/api/queues/default/pause', {}, { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    assert.equal(crossSite.status, 403, 'a page of another site cannot act, even on an open dashboard');
  });

  it('answers every route for an admin, and none for nobody', async () => {
    const { dashboard, client, users } = await setup(USERS);
    const admin = users[0] as TestUser;
    const id = (await client.enqueue('testapp.tasks.echo', { site: A })) as string;
    const anonymous = new DashboardClient(dashboard.url);
    const http = new DashboardClient(dashboard.url);
    assert.equal((await http.login(admin.name, admin.password)).status, 200);
    const fill = (path: string) => (path === '/api/find' ? `/api/find?q=${encodeURIComponent(id)}` : path.replace(':queue', 'default').replace(':id', encodeURIComponent(id)));
    for (const route of dashboardRoutes(() => {})) {
      const path = fill(route.path);
      const refused = route.method === 'GET' ? await anonymous.get(path) : await anonymous.post(path, {});
      assert.equal(refused.status, 401, `${route.method} ${route.path} refuses nobody`);
      if (route.method !== 'GET') continue;
      const reply = await http.get(path);
      assert.equal(reply.status, 200, `${route.method} ${route.path}: ${JSON.stringify(reply.body)}`);
    }
    const overview = await http.get<{ queues: { queue: string; counts: Record<string, number> }[] }>('/api/overview');
    assert.equal(overview.body.queues.find((q) => q.queue === 'default')?.counts['queued'], 1);
    const detail = await http.get<{ id: string; method: string; status: string }>(`/api/jobs/${encodeURIComponent(id)}`);
    assert.deepEqual([detail.body.id, detail.body.method, detail.body.status], [id, 'testapp.tasks.echo', 'queued']);
    assert.equal((await http.get('/api/nothing-here')).status, 404);
  });

  it('logs in with the right password only, limits failed attempts, and needs the CSRF token for a state change', async () => {
    const { dashboard, client, users } = await setup(USERS);
    const admin = users[0] as TestUser;
    const http = new DashboardClient(dashboard.url);
    assert.equal((await http.login('admin', 'wrong')).status, 401);
    assert.equal((await http.login(admin.name, admin.password)).status, 200);
    const id = (await client.enqueue('testapp.tasks.echo', { site: A })) as string;
    const withoutToken = await http.post(`/api/jobs/${encodeURIComponent(id)}/cancel`, {}, { csrf: '' });
    assert.equal(withoutToken.status, 403);
    assert.equal((withoutToken.body as { error: { code: string } }).error.code, 'ERR_CSRF');
    assert.equal(await client.getJobStatus(A, id), 'queued', 'nothing happened');
    const canceled = await http.post<{ status: string }>(`/api/jobs/${encodeURIComponent(id)}/cancel`);
    assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
    assert.equal(await client.getJobStatus(A, id), 'canceled');
    assert.equal((await http.get(`/api/jobs/${encodeURIComponent(id)}/cancel`)).status, 404, 'no state change on GET');
    assert.equal((await http.post('/api/logout')).status, 200);
    assert.equal((await http.get('/api/overview')).status, 401, 'logged out');
    // Failed logins are limited per user and per address: from here on this address waits.
    const guesser = new DashboardClient(dashboard.url);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await guesser.login('viewer', `wrong-${i}`)).status);
    assert.ok(statuses.includes(429), `failed logins are limited: ${statuses.join(', ')}`);
    const limited = await guesser.login('viewer', 'viewer-pass');
    assert.equal(limited.status, 429, 'even the right password waits out the limit');
    assert.ok(Number(limited.headers.get('retry-after')) > 0, 'with Retry-After');
  });

  it('a viewer looks but may not act; a token acts without a session; a site-limited user sees only its sites', async () => {
    const { bench, dashboard, client, users } = await setup(USERS);
    const [admin, viewer, alice] = users as [TestUser, TestUser, TestUser];
    const a = (await client.enqueue('testapp.tasks.echo', { site: A })) as string;
    const b = (await client.enqueue('testapp.tasks.echo', { site: B })) as string;
    const asViewer = new DashboardClient(dashboard.url);
    await asViewer.login(viewer.name, viewer.password);
    assert.equal((await asViewer.get('/api/overview')).status, 200);
    const refused = await asViewer.post(`/api/jobs/${encodeURIComponent(a)}/cancel`);
    assert.equal(refused.status, 403);
    assert.equal((refused.body as { error: { code: string } }).error.code, 'ERR_FORBIDDEN');

    const byToken = new DashboardClient(dashboard.url, admin.token);
    const paused = await byToken.post('/api/queues/long/pause', {}, { csrf: '' });
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(await client.isQueuePaused('long'), true);
    assert.equal((await byToken.post('/api/queues/long/resume', {}, { csrf: '' })).status, 200);
    assert.equal((await new DashboardClient(dashboard.url, 'bwd_not-a-token').get('/api/overview')).status, 401);

    const asAlice = new DashboardClient(dashboard.url);
    await asAlice.login(alice.name, alice.password);
    assert.equal((await asAlice.get(`/api/jobs/${encodeURIComponent(a)}`)).status, 200);
    assert.equal((await asAlice.get(`/api/jobs/${encodeURIComponent(b)}`)).status, 404, "another site's job is not found");
    const page = await asAlice.get<{ jobs: { id: string }[] }>('/api/queues/default/jobs?state=queued');
    assert.deepEqual(page.body.jobs.map((j) => j.id), [a]);
    const bulk = await asAlice.post<{ done: number; results: { id: string; ok: boolean }[] }>('/api/jobs/bulk', { action: 'cancel', ids: [a, b] });
    assert.deepEqual(bulk.body.results.map((r) => [r.id, r.ok]), [[a, true], [b, false]]);
    assert.equal(await client.getJobStatus(B, b), 'queued', "alice cannot cancel b.test's job");
    assert.equal((await asAlice.post('/api/queues/default/pause')).status, 403, 'pausing affects every site');
    const enqueueElsewhere = await asAlice.post('/api/enqueue', { method: 'testapp.tasks.echo', site: B });
    assert.equal(enqueueElsewhere.status, 403);
    void bench;
  });

  it('a bulk action on every job matching a filter (queue, state, site) stays within the user\'s sites', async () => {
    const { dashboard, client, users } = await setup(USERS);
    const [admin, , alice] = users as [TestUser, TestUser, TestUser];
    const ofA = await Promise.all([1, 2, 3].map(() => client.enqueue('testapp.tasks.echo', { site: A }) as Promise<string>));
    const ofB = await Promise.all([1, 2].map(() => client.enqueue('testapp.tasks.echo', { site: B }) as Promise<string>));
    const asAlice = new DashboardClient(dashboard.url);
    await asAlice.login(alice.name, alice.password);
    const mine = await asAlice.post<{ done: number; truncated: boolean }>('/api/jobs/bulk', { action: 'cancel', filter: { queue: 'default', state: 'queued' } });
    assert.deepEqual([mine.status, mine.body.done, mine.body.truncated], [200, 3, false], JSON.stringify(mine.body));
    for (const id of ofA) assert.equal(await client.getJobStatus(A, id), 'canceled');
    for (const id of ofB) assert.equal(await client.getJobStatus(B, id), 'queued', "another site's jobs are not in alice's filter");
    const asAdmin = new DashboardClient(dashboard.url, admin.token);
    const rest = await asAdmin.post<{ done: number }>('/api/jobs/bulk', { action: 'delete', filter: { queue: 'default', state: 'queued', site: B } }, { csrf: '' });
    assert.equal(rest.body.done, 2);
    assert.equal((await asAdmin.post('/api/jobs/bulk', { action: 'delete', filter: { state: 'queued' } }, { csrf: '' })).status, 400, 'a filter names its queue');
  });

  it('retries a failed job and requeues all failed of a queue, run by a real worker', { timeout: 60_000 }, async () => {
    const { bench, dashboard, client, users } = await setup(USERS);
    const http = new DashboardClient(dashboard.url);
    await http.login((users[0] as TestUser).name, (users[0] as TestUser).password);
    const failing = await Promise.all([1, 2, 3].map(() => client.enqueue('testapp.tasks.fail', { site: A, kwargs: { message: 'boom' } }) as Promise<string>));
    const worker = startSupervisor(bench, { queues: ['default'] });
    try {
      for (const id of failing) await waitForStatus(redis.client, bench, 'default', id, 'failed');
      const detail = await http.get<{ errors: { message: string; stack?: string }[] }>(`/api/jobs/${encodeURIComponent(failing[0] as string)}`);
      assert.match(detail.body.errors.at(-1)?.message ?? '', /boom/);
      assert.ok(detail.body.errors.at(-1)?.stack, 'the error keeps its stack');
      const retried = await http.post<{ status: string }>(`/api/jobs/${encodeURIComponent(failing[0] as string)}/retry`);
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      await waitForStatus(redis.client, bench, 'default', failing[0] as string, 'failed');
      const requeued = await http.post<{ requeued: number }>('/api/queues/default/requeue-failed');
      assert.equal(requeued.body.requeued, 3);
    } finally {
      await worker.stop();
    }
  });

  it('pushes job events live to a logged-in stream, only those of sites its user sees', { timeout: 60_000 }, async () => {
    const { bench, dashboard, client, users } = await setup(USERS);
    const alice = users[2] as TestUser;
    const http = new DashboardClient(dashboard.url);
    await http.login(alice.name, alice.password);
    const controller = new AbortController();
    const res = await fetch(`${dashboard.url}/events`, { headers: { cookie: http.cookie }, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    let text = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
    })().catch(() => {});
    await waitFor(() => dashboard.live.listeners === 1, { what: 'the stream to be registered' });
    const worker = startSupervisor(bench, { queues: ['default'] });
    try {
      const b = (await client.enqueue('testapp.tasks.echo', { site: B })) as string;
      const a = (await client.enqueue('testapp.tasks.echo', { site: A })) as string;
      await waitFor(() => text.includes(`"id":"${a}"`) && text.includes('"status":"finished"'), { what: "site a's job events on the stream", timeoutMs: 20_000 });
      await waitFor(() => text.includes('event: changed'), { what: 'a changed event' });
      await waitForStatus(redis.client, bench, 'default', b, 'finished');
      assert.ok(!text.includes(b), "b.test's job never reaches alice's stream");
    } finally {
      controller.abort();
      await reading;
      await worker.stop();
    }
  });

  it('/metrics needs a token (or a session) unless metrics_public, and refuses a site-limited user', async () => {
    const { dashboard, users } = await setup(USERS);
    const [admin, , alice] = users as [TestUser, TestUser, TestUser];
    assert.equal((await fetch(`${dashboard.url}/metrics`)).status, 401);
    const scraped = await fetch(`${dashboard.url}/metrics`, { headers: { authorization: `Bearer ${admin.token}` } });
    assert.equal(scraped.status, 200);
    assert.match(scraped.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await scraped.text(), /^bench_worker_jobs\{queue="default",state="queued"\} \d+$/m);
    assert.equal((await fetch(`${dashboard.url}/metrics`, { headers: { authorization: `Bearer ${alice.token}` } })).status, 403);
    const open = await setup(USERS, { metrics_public: true });
    assert.equal((await fetch(`${open.dashboard.url}/metrics`)).status, 200, 'metrics_public: no token needed');
  });

  it('serves the page with a strict CSP, its assets from the bench, and JSON errors', async () => {
    const { dashboard } = await setup(USERS);
    const page = await fetch(`${dashboard.url}/`);
    const html = await page.text();
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.match(html, /<script type="importmap">/);
    assert.doesNotMatch(html, /https?:\/\//, 'no remote asset');
    for (const asset of ['/assets/app/main.js', '/assets/vendor/preact.js', '/assets/vendor/hooks.js', '/assets/vendor/htm.js', '/assets/vendor/uplot.js', '/assets/app.css', '/favicon.ico']) {
      assert.equal((await fetch(`${dashboard.url}${asset}`)).status, 200, asset);
    }
    const bad = await new DashboardClient(dashboard.url).post('/api/login', undefined, { headers: {} });
    assert.equal(bad.status >= 400 && bad.status < 500, true);
  });
});
