// The dashboard's session cookie: read from a request's Cookie header, written as Set-Cookie with
// HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Path=/, and Secure
// when the request came over TLS (the dashboard itself speaks plain HTTP; a TLS server in front of it
// would pass a TLS socket only when node:https serves the handler).
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export const SESSION_COOKIE = 'bw_session';

/** The value of cookie `name` in the request, or undefined. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value that stores `value` for `maxAgeSeconds` (0: deletes the cookie). */
export function sessionCookie(req: IncomingMessage, value: string, maxAgeSeconds: number): string {
  const secure = (req.socket as Partial<TLSSocket>).encrypted === true;
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}${secure ? '; Secure' : ''}`;
}
