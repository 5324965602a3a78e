// Dashboard handler tests without an HTTP server: principals as the auth layer makes them, and the
// ApiContext the router would build for a request (a bench's client and its Redis connection, the
// route's params and query), so that a handler is called as `handler(context(...))`.
import assert from 'node:assert/strict';
import type { BenchClient } from '../../src/client.ts';
import { HttpError, type ApiContext, type Principal } from '../../src/dashboard/types.ts';
import { silentLog } from './jobs.ts';

/** An admin of every site. */
export const ADMIN: Principal = { user: 'admin', role: 'admin', sites: undefined, via: 'open' };

/** A viewer limited to exactly `sites`. */
export function viewerOf(...sites: string[]): Principal {
  return { user: `viewer-of-${sites.join('+')}`, role: 'viewer', sites: new Set(sites), via: 'token' };
}

/** The context of a GET with these route params and query parameters. */
export async function context(client: BenchClient, principal: Principal, request: { params?: Record<string, string>; query?: Record<string, string> } = {}): Promise<ApiContext> {
  return {
    principal,
    bench: () => client.bench,
    client,
    redis: await client.connection(),
    log: silentLog,
    query: new URLSearchParams(request.query ?? {}),
    params: request.params ?? {},
    body: undefined,
  };
}

/** Assert that `call` rejects with an HttpError of this status and code. */
export async function rejectsWith(call: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof HttpError, `expected an HttpError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code, err.message);
    return true;
  });
}
