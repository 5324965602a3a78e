// Parses config JSON files and checks every known key against its spec, so that a bad file stops a
// command with "file: key: expected X, found Y" before anything starts. Every problem of a file is
// reported at once (a nested one by its path, "workers.email.timeout"); a key one or two typos away
// from a known one ("backgroud_workers") is returned as a warning; other unknown keys pass through.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { describeRange, inRange, wholeRange, type NumberRange } from '../util/limits.js';
import { describeValue, printable, quoted } from '../util/text.js';
import { APP_NAME_RULE, QUEUE_NAME_RULE, isAppName, isQueueName } from './names.js';
import { nearMiss } from './near-miss.js';
import { redactUrl } from '../util/redact.js';
import { parseRedisUrl } from './redis-url.js';
import { BACKGROUND_WORKERS_RANGE, DASHBOARD_USER_NAME, KEY_SPECS, METRIC_LABELS, QUEUE_TIMEOUT_RANGE, type KeySpec, type KnownKey } from './schema.js';
import { isRecord as isObject } from '../util/records.js';

export type RawConfig = Record<string, unknown>;

/** One thing wrong with a config file: the top-level key, the path of the bad value and what is wrong. */
export interface ConfigProblem {
  key: string;
  /** The key, or the dotted path of a nested value ("workers.email.timeout"). */
  path: string;
  /** "expected …, found …" (or another sentence about the value). */
  problem: string;
}

/** Read and parse a JSON object file. A missing optional file reads as {}. */
export function readJsonObject(file: string, options: { optional: boolean }): RawConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && options.optional) return {};
    throw new ConfigError(`${file}: cannot be read (${(err as Error).message})`, file, undefined, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: malformed JSON: ${(err as Error).message}`, file, undefined, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`${file}: expected a JSON object at the top level, found ${describeValue(parsed)}`, file);
  }
  return parsed as RawConfig;
}

/**
 * Check each known key present in `raw`: throws one ConfigError listing every problem of the file
 * (`details.problems`). Returns the warnings: unknown keys that look like a typo of a known one.
 */
export function validateKnownKeys(raw: RawConfig, file: string, isSiteFile: boolean): string[] {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const nearMissOf = (path: string, name: string, known: readonly string[]) => {
    const meant = nearMiss(name, known);
    if (meant !== undefined) warnings.push(`${file}: key "${path}" is not one bench-worker knows (it is ignored): did you mean "${meant}"?`);
  };
  for (const [key, spec] of Object.entries(KEY_SPECS) as [KnownKey, KeySpec][]) {
    if (!(key in raw)) continue;
    if (spec.siteOnly && !isSiteFile) {
      problems.push({ key, path: key, problem: 'belongs in sites/<site>/site_config.json' });
      continue;
    }
    checkValue(spec, raw[key], key, { problem: (path, problem) => problems.push({ key, path, problem }), nearMiss: nearMissOf });
  }
  if (problems.length > 0) throw configErrorOf(file, problems);
  const known = Object.keys(KEY_SPECS);
  for (const key of Object.keys(raw)) nearMissOf(key, key, known);
  return warnings;
}

/** One error for every problem of `file`: the message lists them, `details.problems` holds them. */
function configErrorOf(file: string, problems: readonly ConfigProblem[]): ConfigError {
  const line = (p: ConfigProblem) => `key "${p.path}": ${p.problem}`;
  const first = problems[0] as ConfigProblem;
  const message =
    problems.length === 1 ? `${file}: ${line(first)}` : `${file}: ${problems.length} problems:\n${problems.map((p) => `  - ${line(p)}`).join('\n')}`;
  return new ConfigError(message, file, first.key, { details: { problems } });
}

interface Report {
  /** The value at `path` is wrong. */
  problem(path: string, problem: string): void;
  /** `name` at `path` is not a known name: warn when it looks like a typo of one of `known`. */
  nearMiss(path: string, name: string, known: readonly string[]): void;
}

const expected = (what: string, value: unknown) => `expected ${what}, found ${describeValue(value)}`;

function checkValue(spec: KeySpec, value: unknown, path: string, report: Report): void {
  switch (spec.kind) {
    case 'string':
      if (!(typeof value === 'string' && value.length > 0)) {
        // A credential's value is never echoed, only its type.
        report.problem(path, spec.secret ? `expected a non-empty string, found ${describeSecret(value)}` : expected('a non-empty string', value));
      }
      return;
    case 'benchId':
      if (!(typeof value === 'string' && /^[^\s{}]+$/.test(value))) report.problem(path, expected('a non-empty string without spaces or braces', value));
      return;
    case 'redisUrl':
      return checkRedisUrl(value, path, report);
    case 'int':
      return checkInt(value, spec.range as NumberRange, path, report);
    case 'boolean':
      if (typeof value !== 'boolean') report.problem(path, expected('true or false', value));
      return;
    case 'appList':
      return checkAppList(value, path, report);
    case 'workers':
      return checkWorkers(value, path, report);
    case 'dbType':
      if (value !== 'sqlite' && value !== 'postgres') report.problem(path, expected('"sqlite" or "postgres"', value));
      return;
    case 'postgresUrl':
      if (!isUrlOf(value, ['postgres:', 'postgresql:'])) report.problem(path, expected('a postgres:// or postgresql:// URL', redacted(value)));
      return;
    case 'identifier':
      if (!(typeof value === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value))) {
        report.problem(path, expected('a name of letters, digits and "_" (not starting with a digit, at most 63 characters)', value));
      }
      return;
    case 'flag':
      if (value !== true && value !== false && value !== 0 && value !== 1) report.problem(path, expected('true, false, 1 or 0', value));
      return;
    case 'timeZone':
      if (!isTimeZone(value)) report.problem(path, expected('an IANA time zone such as "Europe/Berlin" or "UTC"', value));
      return;
    case 'jobCap':
      return checkJobCap(value, path, report);
    case 'hostPortList':
      return checkHostPortList(value, path, report);
    case 'redisUrlList':
      return checkRedisUrlList(value, path, report);
    case 'dashboardUsers':
      return checkDashboardUsers(value, path, report);
    case 'nameList':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(v))) {
        report.problem(path, expected('a list of kwargs key names (letters, digits, "_", "." or "-", at most 64 characters)', value));
      }
      return;
    case 'metricLabels':
      if (!Array.isArray(value) || !value.every((v) => (METRIC_LABELS as readonly unknown[]).includes(v))) {
        report.problem(path, expected(`a list of labels among ${METRIC_LABELS.map((l) => `"${l}"`).join(', ')}`, value));
      }
      return;
  }
}

function checkInt(value: unknown, range: NumberRange, path: string, report: Report): void {
  if (!inRange(value, range)) report.problem(path, expected(describeRange(range), value));
}

function checkRedisUrl(value: unknown, path: string, report: Report): void {
  for (const p of parseRedisUrl(value).problems) report.problem(path, p.found === undefined ? expected(p.expected, redacted(value)) : `expected ${p.expected}, found ${p.found}`);
}

function checkAppList(value: unknown, path: string, report: Report): void {
  if (!Array.isArray(value)) return report.problem(path, expected('a list of app names', value));
  value.forEach((app, i) => {
    if (!isAppName(app)) report.problem(`${path}[${i}]`, expected(`an app name (${APP_NAME_RULE})`, app));
  });
}

const JOB_CAP_RANGE = wholeRange(1, 1_000_000, 'jobs');

const QUEUE_FIELDS: Record<string, NumberRange> = { timeout: QUEUE_TIMEOUT_RANGE, background_workers: BACKGROUND_WORKERS_RANGE };

function checkWorkers(value: unknown, path: string, report: Report): void {
  if (!isObject(value)) return report.problem(path, expected('an object of queue name -> {"timeout": seconds, "background_workers": n}', value));
  for (const [name, queue] of Object.entries(value)) {
    const at = `${path}.${printable(name)}`;
    if (!isQueueName(name)) report.problem(at, `expected a queue name of ${QUEUE_NAME_RULE}, found ${quoted(name)}`);
    if (!isObject(queue)) {
      report.problem(at, expected('an object {"timeout": seconds, "background_workers": n}', queue));
      continue;
    }
    for (const [field, fieldValue] of Object.entries(queue)) {
      const range = QUEUE_FIELDS[field];
      if (range !== undefined) checkInt(fieldValue, range, `${at}.${field}`, report);
      else report.nearMiss(`${at}.${field}`, field, Object.keys(QUEUE_FIELDS));
    }
  }
}

/** A non-empty list of "host:port" strings (port 1-65535). */
function checkHostPortList(value: unknown, path: string, report: Report): void {
  if (!Array.isArray(value) || value.length === 0) return report.problem(path, expected('a non-empty list of "host:port" strings', value));
  value.forEach((entry, i) => {
    if (parseHostPort(entry) === undefined) report.problem(`${path}[${i}]`, expected('"host:port" with a port of 1-65535', entry));
  });
}

/** A list of redis:// or rediss:// URLs of database 0 (a Cluster has no other); [] turns the Cluster off. */
function checkRedisUrlList(value: unknown, path: string, report: Report): void {
  if (!Array.isArray(value)) return report.problem(path, expected('a list of redis:// URLs', value));
  value.forEach((entry, i) => {
    const at = `${path}[${i}]`;
    checkRedisUrl(entry, at, report);
    const { endpoint } = parseRedisUrl(entry);
    if (endpoint !== undefined && endpoint.db !== 0) report.problem(at, `expected database 0 (a Redis Cluster has no other), found /${endpoint.db}`);
  });
}

const USER_FIELDS = ['password', 'role', 'sites', 'tokens'];

/** dashboard_users: name -> {password hash, role, sites, tokens}; a value is never echoed (hashes). */
function checkDashboardUsers(value: unknown, path: string, report: Report): void {
  if (!isObject(value)) return report.problem(path, `expected an object of user name -> {"password", "role", "sites", "tokens"}, found ${describeSecret(value)}`);
  for (const [name, user] of Object.entries(value)) {
    const at = `${path}.${printable(name)}`;
    if (!DASHBOARD_USER_NAME.test(name)) report.problem(at, `expected a user name of letters, digits, "_", ".", "@" or "-" (1-64 characters), found ${quoted(name)}`);
    if (!isObject(user)) {
      report.problem(at, `expected an object {"password", "role", "sites", "tokens"}, found ${describeSecret(user)}`);
      continue;
    }
    if (user['role'] !== 'admin' && user['role'] !== 'viewer') report.problem(`${at}.role`, expected('"admin" or "viewer"', user['role']));
    const sites = user['sites'];
    if (!Array.isArray(sites) || sites.length === 0 || !sites.every((s) => typeof s === 'string' && s.length > 0)) report.problem(`${at}.sites`, expected('a non-empty list of site names, or ["*"]', sites));
    if (user['password'] !== undefined && !(typeof user['password'] === 'string' && user['password'].startsWith('scrypt$'))) {
      report.problem(`${at}.password`, `expected a hash written by bench dashboard set-password, found ${describeSecret(user['password'])}`);
    }
    const tokens = user['tokens'];
    if (tokens !== undefined && !(Array.isArray(tokens) && tokens.every((t) => typeof t === 'string' && /^[0-9a-f]{64}$/.test(t)))) {
      report.problem(`${at}.tokens`, `expected a list of token hashes written by bench dashboard token, found ${describeSecret(tokens)}`);
    }
    for (const field of Object.keys(user)) if (!USER_FIELDS.includes(field)) report.nearMiss(`${at}.${field}`, field, USER_FIELDS);
  }
}

/** "host:port" (a bracketed IPv6 host allowed) as its parts, or undefined when it is not one. */
export function parseHostPort(value: unknown): { host: string; port: number } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

/** A number of jobs, or an object of queue name -> number of jobs. */
function checkJobCap(value: unknown, path: string, report: Report): void {
  if (!isObject(value)) return checkInt(value, JOB_CAP_RANGE, path, report);
  for (const [name, cap] of Object.entries(value)) {
    const at = `${path}.${printable(name)}`;
    if (!isQueueName(name)) report.problem(at, `expected a queue name of ${QUEUE_NAME_RULE}, found ${quoted(name)}`);
    checkInt(cap, JOB_CAP_RANGE, at, report);
  }
}

/** True for a time zone name this Node (its ICU data) knows. */
export function isTimeZone(value: unknown): value is string {
  if (typeof value !== 'string' || value === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}


function isUrlOf(value: unknown, protocols: readonly string[]): boolean {
  if (typeof value !== 'string') return false;
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** The type of a credential's value, never the value. */
function describeSecret(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string' && value.length === 0) return 'an empty string';
  return `${Array.isArray(value) ? 'a list' : `a ${typeof value}`} (not shown: a secret)`;
}

/** A URL-ish value with its password hidden, for a message. */
function redacted(value: unknown): unknown {
  return typeof value === 'string' ? redactUrl(value) : value;
}
