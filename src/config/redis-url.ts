// The redis_queue URL, parsed and checked in one place: config validation reports its problems before
// any command connects (so nothing is ever written to the wrong database), and src/redis/connection.ts
// builds the client's options from the same parse.
//
//   redis[s]://[[user]:password@]host[:port][/db][?option=value&...]
//
// db is 0-15: Redis's default "databases 16" (a server configured with more is still refused above 15).
// Options follow redis-py's URL names (what Frappe's own redis_queue URLs carry) and are only valid on
// rediss:// (TLS). A later Cluster/Sentinel mode adds its options to OPTIONS and its own endpoint kind.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { quoted } from '../util/text.js';
import { redactUrl } from '../util/redact.js';

/** Databases of a Redis server with the default `databases 16`. */
export const REDIS_DATABASES = 16;
const DEFAULT_PORT = 6379;

export interface RedisTlsOptions {
  /** PEM file of the certificate authorities to trust (default: Node's bundled ones). */
  caFile?: string;
  /** Client certificate and key (PEM), for servers that ask for one (`tls-auth-clients yes`). */
  certFile?: string;
  keyFile?: string;
  /** ssl_cert_reqs=none turns this off: any server certificate is accepted (testing only). */
  rejectUnauthorized: boolean;
  /** ssl_check_hostname=false: the certificate need not name the host. */
  checkHostname: boolean;
}

export interface RedisEndpoint {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** Present for rediss://. */
  tls?: RedisTlsOptions;
}

/** One problem of a URL, in the form config errors use: "expected …, found …" (no `found`: the value itself). */
export interface UrlProblem {
  expected: string;
  found?: string;
}

type Options = Record<string, string>;

interface OptionSpec {
  /** What a valid value is, for the message; null when `value` is fine. */
  check(value: string): string | null;
  /** Valid only with rediss://. */
  tls: boolean;
}

const absoluteFile = (value: string): string | null =>
  !path.isAbsolute(value) ? 'an absolute path' : existsSync(value) ? null : 'an existing file';
const oneOf = (...allowed: string[]) => (value: string): string | null => (allowed.includes(value) ? null : allowed.map((a) => `"${a}"`).join(' or '));

/** The query options of redis_queue. */
const OPTIONS: Record<string, OptionSpec> = {
  ssl_ca_certs: { tls: true, check: absoluteFile },
  ssl_certfile: { tls: true, check: absoluteFile },
  ssl_keyfile: { tls: true, check: absoluteFile },
  ssl_cert_reqs: { tls: true, check: oneOf('required', 'none') },
  ssl_check_hostname: { tls: true, check: oneOf('true', 'false') },
};

export const URL_FORM = 'a redis:// or rediss:// URL (redis[s]://[[user]:password@]host[:port][/db])';

/** The endpoint of `value`, or every problem it has. */
export function parseRedisUrl(value: unknown): { endpoint: RedisEndpoint; problems: [] } | { endpoint?: undefined; problems: UrlProblem[] } {
  let url: URL;
  try {
    if (typeof value !== 'string') throw new TypeError('not a string');
    url = new URL(value);
  } catch {
    return { problems: [{ expected: URL_FORM }] };
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return { problems: [{ expected: URL_FORM, found: `scheme ${quoted(url.protocol.replace(/:$/, ''))}` }] };
  }
  const problems: UrlProblem[] = [];
  const tls = url.protocol === 'rediss:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') problems.push({ expected: 'a host name or address after "//"', found: 'none' });
  const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
  if (!(port >= 1 && port <= 65535)) problems.push({ expected: 'a port from 1 to 65535', found: `port ${url.port}` });
  const db = databaseOf(url.pathname);
  if (db === undefined) {
    problems.push({
      expected: `a database number from 0 to ${REDIS_DATABASES - 1} after the port (Redis's default "databases ${REDIS_DATABASES}")`,
      found: `path ${quoted(url.pathname)}`,
    });
  }
  if (url.hash !== '') problems.push({ expected: 'no "#" fragment', found: quoted(url.hash) });
  const options: Options = {};
  for (const [name, optionValue] of url.searchParams) {
    const spec = OPTIONS[name];
    if (spec === undefined) {
      problems.push({ expected: `one of the options ${Object.keys(OPTIONS).join(', ')}`, found: `option ${quoted(name)}` });
    } else if (spec.tls && !tls) {
      problems.push({ expected: `rediss:// (TLS) for option ${name}`, found: 'redis://' });
    } else {
      const wanted = spec.check(optionValue);
      if (wanted !== null) problems.push({ expected: `${name} to be ${wanted}`, found: quoted(optionValue) });
      options[name] = optionValue;
    }
  }
  if ((options['ssl_certfile'] === undefined) !== (options['ssl_keyfile'] === undefined)) {
    problems.push({ expected: 'ssl_certfile and ssl_keyfile together', found: `only ${options['ssl_certfile'] === undefined ? 'ssl_keyfile' : 'ssl_certfile'}` });
  }
  if (problems.length > 0 || db === undefined) return { problems };
  const endpoint: RedisEndpoint = { host, port, db };
  const username = decoded(url.username);
  const password = decoded(url.password);
  if (username === undefined || password === undefined) return { problems: [{ expected: 'user and password in valid %-encoding', found: 'a bad %-escape' }] };
  if (username !== '') endpoint.username = username;
  if (password !== '') endpoint.password = password;
  if (tls) endpoint.tls = tlsOptions(options);
  return { endpoint, problems: [] };
}

/**
 * The endpoint of a redis_queue value that config validation passed. One that is still invalid here
 * (settings made by hand) is a ConfigError naming its problems, before any connection is made.
 */
export function redisEndpoint(url: string): RedisEndpoint {
  const parsed = parseRedisUrl(url);
  if (parsed.endpoint !== undefined) return parsed.endpoint;
  const problems = parsed.problems.map((p) => `expected ${p.expected}${p.found === undefined ? '' : `, found ${p.found}`}`).join('; ');
  throw new ConfigError(`redis_queue ${quoted(redactUrl(String(url)))}: ${problems}`, '<settings>', 'redis_queue');
}

function databaseOf(pathname: string): number | undefined {
  if (pathname === '' || pathname === '/') return 0;
  const match = /^\/(\d{1,2})$/.exec(pathname);
  const db = match ? Number(match[1]) : Number.NaN;
  return db >= 0 && db < REDIS_DATABASES ? db : undefined;
}

function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function tlsOptions(options: Options): RedisTlsOptions {
  const tls: RedisTlsOptions = {
    rejectUnauthorized: options['ssl_cert_reqs'] !== 'none',
    checkHostname: options['ssl_check_hostname'] !== 'false',
  };
  if (options['ssl_ca_certs'] !== undefined) tls.caFile = options['ssl_ca_certs'];
  if (options['ssl_certfile'] !== undefined) tls.certFile = options['ssl_certfile'];
  if (options['ssl_keyfile'] !== undefined) tls.keyFile = options['ssl_keyfile'];
  return tls;
}
