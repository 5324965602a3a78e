// DashboardAuth on real node:http request/response objects (no network) and a real bench config
// (dashboard_users written to its common_site_config.json, read back at every request as the server
// does): the open dashboard, login and its cookie, rate limiting, session expiry and invalidation by a
// password change, API tokens, CSRF and logout.
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { loadBenchConfig } from '../../src/config/load.ts';
import type { DashboardUserConfig } from '../../src/config/schema.ts';
import { DashboardAuth, hashPassword, newApiToken } from '../../src/dashboard/auth/index.ts';
import { HttpError } from '../../src/dashboard/types.ts';
import { createLogger } from '../../src/log/logger.ts';
import { makeBench } from '../helpers/bench.ts';

const CHEAP = { N: 1024, r: 8, p: 1 };
const HOUR = 3600_000;
const bench = makeBench({ redisUrl: 'redis://127.0.0.1:1' });
after(() => bench.remove());

let users: Record<string, DashboardUserConfig> = {};
function setUsers(next: Record<string, DashboardUserConfig>): void {
  users = next;
  bench.writeCommon({ dashboard_users: next });
}

const logLines: string[] = [];
let time = 1_000_000_000;
function newAuth(): DashboardAuth {
  return new DashboardAuth({
    bench: () => loadBenchConfig(bench.path),
    log: createLogger({ destination: { write: (line: string) => void logLines.push(line) } }),
    now: () => time,
    scrypt: CHEAP,
  });
}

function request(options: { method?: string; headers?: Record<string, string>; remote?: string } = {}): IncomingMessage {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: options.remote ?? '127.0.0.1' });
  const req = new IncomingMessage(socket);
  req.method = options.method ?? 'GET';
  req.headers = { host: '127.0.0.1:9181', ...options.headers };
  return req;
}

function response(req: IncomingMessage): ServerResponse {
  return new ServerResponse(req);
}

function setCookies(res: ServerResponse): string[] {
  const value = res.getHeader('set-cookie');
  return Array.isArray(value) ? value : value === undefined ? [] : [String(value)];
}

/** Log in; the session cookie ("bw_session=...") and the CSRF token. */
async function login(auth: DashboardAuth, user: string, password: string, remote?: string): Promise<{ cookie: string; csrfToken: string }> {
  const req = request({ method: 'POST', remote });
  const res = response(req);
  const result = await auth.login(req, res, { user, password });
  const cookie = (setCookies(res)[0] ?? '').split(';')[0] as string;
  return { cookie, csrfToken: result.csrfToken };
}

async function refused(promiseOrCall: Promise<unknown> | (() => unknown), status: number, code: string): Promise<HttpError> {
  let caught: unknown;
  try {
    await (typeof promiseOrCall === 'function' ? promiseOrCall() : promiseOrCall);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HttpError, `expected HttpError ${status} ${code}, got ${String(caught)}`);
  assert.equal(caught.status, status, caught.message);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

const adminHash = await hashPassword('admin-pw', CHEAP);
const viewerHash = await hashPassword('viewer-pw', CHEAP);
const baseUsers = (): Record<string, DashboardUserConfig> => ({
  admin: { password: adminHash, role: 'admin', sites: ['*'] },
  viewer: { password: viewerHash, role: 'viewer', sites: ['site1.test', 'site2.test'] },
});

describe('DashboardAuth', () => {
  test('no users: an open admin of every site, only for requests from this machine addressed to a loopback name', async () => {
    setUsers({});
    const auth = newAuth();
    assert.equal(auth.usersConfigured(), false);
    for (const host of ['127.0.0.1:9181', 'localhost:9181', '[::1]:9181', 'LOCALHOST']) {
      assert.deepEqual(auth.authenticate(request({ headers: { host } })), { user: 'anonymous', role: 'admin', sites: undefined, via: 'open' }, host);
    }
    assert.deepEqual(auth.authenticate(request({ remote: '::ffff:127.0.0.1' }))?.via, 'open');
    assert.equal(auth.authenticate(request({ headers: { host: 'evil.example:9181' } })), undefined, 'DNS rebinding');
    assert.equal(auth.authenticate(request({ remote: '10.0.0.7' })), undefined, 'from another machine, whatever its Host header says');
    await refused(() => auth.requirePrincipal(request({ headers: { host: '10.0.0.5:9181' } })), 403, 'ERR_FORBIDDEN');
    await refused(auth.login(request({ method: 'POST' }), response(request()), { user: 'admin', password: 'x' }), 409, 'ERR_NO_USERS');
    const open = auth.requirePrincipal(request());
    await refused(() => auth.checkCsrf(request({ method: 'POST', headers: { origin: 'http://evil.example' } }), open), 403, 'ERR_CSRF');
    await refused(() => auth.checkCsrf(request({ method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }), open), 403, 'ERR_CSRF');
    auth.checkCsrf(request({ method: 'POST' }), open);
    auth.checkCsrf(request({ method: 'POST', headers: { origin: 'http://127.0.0.1:9181', 'sec-fetch-site': 'same-origin' } }), open);
  });

  test('login sets an HttpOnly SameSite=Strict cookie; the session is the user with its sites', async () => {
    setUsers(baseUsers());
    const auth = newAuth();
    assert.equal(auth.usersConfigured(), true);
    assert.equal(auth.authenticate(request()), undefined, 'users configured: nobody is admitted without proof');
    await refused(() => auth.requirePrincipal(request()), 401, 'ERR_UNAUTHORIZED');
    const req = request({ method: 'POST' });
    const res = response(req);
    const result = await auth.login(req, res, { user: 'viewer', password: 'viewer-pw' });
    assert.deepEqual({ ...result, csrfToken: typeof result.csrfToken }, { user: 'viewer', role: 'viewer', sites: ['site1.test', 'site2.test'], csrfToken: 'string' });
    const [cookie] = setCookies(res);
    assert.match(cookie ?? '', /^bw_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=86400$/);
    const principal = auth.authenticate(request({ headers: { cookie: `theme=dark; ${(cookie ?? '').split(';')[0]}` } }));
    assert.deepEqual(principal, { user: 'viewer', role: 'viewer', sites: new Set(['site1.test', 'site2.test']), via: 'session' });
    const admin = await login(auth, 'admin', 'admin-pw');
    assert.equal(auth.authenticate(request({ headers: { cookie: admin.cookie } }))?.sites, undefined, '["*"]: every site');
    assert.ok(logLines.some((line) => line.includes('"msg":"dashboard login"') && line.includes('"user":"viewer"')));
  });

  test('wrong password, unknown user, inherited property name: 401 alike, the password never logged', async () => {
    setUsers(baseUsers());
    const auth = newAuth();
    const timings: string[] = [];
    for (const [user, password] of [['admin', 'wrong-pw'], ['nobody', 'wrong-pw'], ['constructor', 'wrong-pw'], ['__proto__', 'wrong-pw']] as const) {
      const started = performance.now();
      const err = await refused(auth.login(request({ method: 'POST', remote: `10.0.0.${user.length}` }), response(request()), { user, password }), 401, 'ERR_UNAUTHORIZED');
      timings.push(`${user} ${Math.round(performance.now() - started)}`);
      assert.equal(err.message, 'wrong user name or password');
    }
    console.log(`failed login times (ms, scrypt N=1024): ${timings.join(', ')}`);
    assert.ok(!logLines.join('').includes('wrong-pw'), 'a password reached the log');
    for (const body of [undefined, 'admin', {}, { user: 'admin' }, { user: 'admin', password: 7 }, { user: '', password: 'x' }, { user: 'admin', password: 'x'.repeat(1025) }]) {
      await refused(auth.login(request({ method: 'POST' }), response(request()), body), 400, 'ERR_BAD_REQUEST');
    }
    await refused(auth.login(request({ method: 'POST', headers: { origin: 'http://evil.example' } }), response(request()), { user: 'admin', password: 'admin-pw' }), 403, 'ERR_CSRF');
  });

  test('5 failures per user name then 429 with Retry-After, even with the right password; a success resets', async () => {
    setUsers(baseUsers());
    const auth = newAuth();
    for (let i = 0; i < 4; i++) await refused(auth.login(request({ method: 'POST', remote: `10.1.0.${i}` }), response(request()), { user: 'admin', password: 'no' }), 401, 'ERR_UNAUTHORIZED');
    await login(auth, 'admin', 'admin-pw', '10.1.0.9');
    for (let i = 0; i < 5; i++) await refused(auth.login(request({ method: 'POST', remote: `10.1.1.${i}` }), response(request()), { user: 'admin', password: 'no' }), 401, 'ERR_UNAUTHORIZED');
    const req = request({ method: 'POST', remote: '10.1.2.1' });
    const res = response(req);
    const err = await refused(auth.login(req, res, { user: 'admin', password: 'admin-pw' }), 429, 'ERR_RATE_LIMITED');
    assert.equal(res.getHeader('retry-after'), '900');
    assert.match(err.message, /900 s/);
    time += 15 * 60_000;
    await login(auth, 'admin', 'admin-pw', '10.1.2.1');
  });

  test('5 failures per remote address, whatever the user names; concurrent attempts are counted as they start', async () => {
    setUsers(baseUsers());
    const auth = newAuth();
    const attempts = Array.from({ length: 8 }, (_, i) => auth.login(request({ method: 'POST', remote: '10.2.0.1' }), response(request()), { user: `guess${i}`, password: 'no' }).catch((err: unknown) => err));
    const codes = (await Promise.all(attempts)).map((err) => (err instanceof HttpError ? err.code : String(err)));
    assert.deepEqual(codes.sort(), [...Array(5).fill('ERR_UNAUTHORIZED'), ...Array(3).fill('ERR_RATE_LIMITED')].sort());
    await refused(auth.login(request({ method: 'POST', remote: '10.2.0.1' }), response(request()), { user: 'viewer', password: 'viewer-pw' }), 429, 'ERR_RATE_LIMITED');
    await login(auth, 'viewer', 'viewer-pw', '10.2.0.2');
  });

  test('a session ends after 12 h idle and 24 h after login however used', async () => {
    setUsers(baseUsers());
    const auth = newAuth();
    const idle = await login(auth, 'admin', 'admin-pw');
    const busy = await login(auth, 'admin', 'admin-pw');
    for (let i = 0; i < 23; i++) {
      time += HOUR;
      assert.ok(auth.authenticate(request({ headers: { cookie: busy.cookie } })), `busy session at ${i + 1} h`);
      if (i === 10) assert.ok(auth.authenticate(request({ headers: { cookie: idle.cookie } })), 'idle session used at 11 h');
    }
    assert.equal(auth.authenticate(request({ headers: { cookie: idle.cookie } })), undefined, 'idle since 11 h: ended at 23 h');
    time += HOUR;
    assert.equal(auth.authenticate(request({ headers: { cookie: busy.cookie } })), undefined, '24 h after login');
  });

  test('a new password or a removed user ends the sessions; a role or sites edit applies at once', async () => {
    setUsers(baseUsers());
    const auth = newAuth();
    const admin = await login(auth, 'admin', 'admin-pw');
    const viewer = await login(auth, 'viewer', 'viewer-pw');
    setUsers({ ...baseUsers(), viewer: { password: viewerHash, role: 'admin', sites: ['site3.test'] } });
    assert.deepEqual(auth.authenticate(request({ headers: { cookie: viewer.cookie } })), { user: 'viewer', role: 'admin', sites: new Set(['site3.test']), via: 'session' });
    setUsers({ ...users, admin: { password: await hashPassword('admin-pw', CHEAP), role: 'admin', sites: ['*'] } });
    assert.equal(auth.authenticate(request({ headers: { cookie: admin.cookie } })), undefined, 'same password, new hash: the old session ends');
    setUsers({ admin: users['admin'] as DashboardUserConfig });
    assert.equal(auth.authenticate(request({ headers: { cookie: viewer.cookie } })), undefined, 'viewer removed');
    setUsers(baseUsers());
    assert.equal(auth.authenticate(request({ headers: { cookie: viewer.cookie } })), undefined, 'put back: the ended session stays ended');
  });

  test('Bearer tokens: the token\'s user, via token; a wrong Authorization header admits nobody, even with a cookie', async () => {
    const token = newApiToken();
    setUsers({ ...baseUsers(), viewer: { ...baseUsers()['viewer'] as DashboardUserConfig, tokens: [token.hash] } });
    const auth = newAuth();
    assert.deepEqual(auth.authenticate(request({ headers: { authorization: `Bearer ${token.token}` } })), { user: 'viewer', role: 'viewer', sites: new Set(['site1.test', 'site2.test']), via: 'token' });
    const admin = await login(auth, 'admin', 'admin-pw');
    for (const authorization of [`Bearer ${newApiToken().token}`, `Basic ${token.token}`, `Bearer ${token.hash}`, 'Bearer']) {
      assert.equal(auth.authenticate(request({ headers: { authorization, cookie: admin.cookie } })), undefined, authorization);
    }
    setUsers(baseUsers());
    assert.equal(auth.authenticate(request({ headers: { authorization: `Bearer ${token.token}` } })), undefined, 'token removed from the config');
  });

  test('CSRF: a session\'s state change needs its X-CSRF-Token; GET and tokens do not; logout ends the session', async () => {
    const token = newApiToken();
    setUsers({ ...baseUsers(), admin: { ...baseUsers()['admin'] as DashboardUserConfig, tokens: [token.hash] } });
    const auth = newAuth();
    const a = await login(auth, 'admin', 'admin-pw');
    const b = await login(auth, 'admin', 'admin-pw');
    const post = (headers: Record<string, string>) => request({ method: 'POST', headers: { cookie: a.cookie, ...headers } });
    const principal = auth.requirePrincipal(post({}));
    await refused(() => auth.checkCsrf(post({}), principal), 403, 'ERR_CSRF');
    await refused(() => auth.checkCsrf(post({ 'x-csrf-token': b.csrfToken }), principal), 403, 'ERR_CSRF');
    await refused(() => auth.checkCsrf(post({ 'x-csrf-token': `${a.csrfToken}x` }), principal), 403, 'ERR_CSRF');
    await refused(() => auth.checkCsrf(post({ 'x-csrf-token': a.csrfToken, origin: 'http://evil.example' }), principal), 403, 'ERR_CSRF');
    auth.checkCsrf(post({ 'x-csrf-token': a.csrfToken }), principal);
    auth.checkCsrf(request({ method: 'GET', headers: { cookie: a.cookie } }), principal);
    const bearer = auth.requirePrincipal(request({ method: 'POST', headers: { authorization: `Bearer ${token.token}` } }));
    auth.checkCsrf(request({ method: 'POST', headers: { authorization: `Bearer ${token.token}` } }), bearer);
    assert.deepEqual(auth.whoami(post({}), principal), { user: 'admin', role: 'admin', sites: ['*'], via: 'session', csrfToken: a.csrfToken });
    assert.deepEqual(auth.whoami(request(), bearer), { user: 'admin', role: 'admin', sites: ['*'], via: 'token' });
    const res = response(post({}));
    auth.logout(post({ 'x-csrf-token': a.csrfToken }), res);
    assert.deepEqual(setCookies(res), ['bw_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0']);
    assert.equal(auth.authenticate(post({})), undefined, 'logged out');
    assert.ok(auth.authenticate(request({ headers: { cookie: b.cookie } })), 'the other session lives on');
  });
});
