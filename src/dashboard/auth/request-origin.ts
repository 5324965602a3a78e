// Where a request comes from, as far as the dashboard's guards care: whether a browser sent it from
// another origin (another site, another port of localhost, a sandboxed page: its Origin or its
// Sec-Fetch-Site say so; curl and scripts send neither), whether it came from this machine addressed to
// a loopback name (a page of evil.example whose name was re-pointed at 127.0.0.1, "DNS rebinding", is
// not), and the remote address logins are throttled by.
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../types.js';

/** The host name of the request's Host header (brackets of an IPv6 literal removed), lower case. */
function hostName(host: string): string {
  const match = /^\[([^\]]*)\](?::\d+)?$/.exec(host) ?? /^([^:]*)(?::\d+)?$/.exec(host);
  return (match?.[1] ?? '').toLowerCase();
}

const isLoopbackAddress = (address: string): boolean => address === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(address);

/**
 * Did the request come from this machine (its peer a loopback address: the Host header alone is the
 * client's word) and was it addressed to localhost, 127.x.x.x or [::1]?
 */
export function localAndAddressedToLoopback(req: IncomingMessage): boolean {
  const name = hostName(req.headers.host ?? '');
  return isLoopbackAddress(req.socket.remoteAddress ?? '') && (name === 'localhost' || isLoopbackAddress(name));
}

/** Refuse (403 ERR_CSRF) a request a browser sent from a page of another origin. */
export function assertSameOrigin(req: IncomingMessage): void {
  const fetchSite = req.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    throw new HttpError(403, 'ERR_CSRF', `refused: the request came from another site's page (Sec-Fetch-Site: ${fetchSite})`);
  }
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    originHost = '';
  }
  if (originHost === '' || originHost !== (req.headers.host ?? '').toLowerCase()) {
    throw new HttpError(403, 'ERR_CSRF', 'refused: the request came from a page of another origin');
  }
}

/** The peer's address (logins are throttled per address; behind a proxy it is the proxy's). */
export function remoteAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
