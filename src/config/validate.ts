// Parses config JSON files and checks every known key against its spec, so that a bad file
// stops a command with "file: key: expected X, found Y" before anything starts.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { redactText } from '../util/redact.js';
import { KEY_SPECS, type KeyKind, type KnownKey } from './schema.js';

export type RawConfig = Record<string, unknown>;

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
    throw new ConfigError(`${file}: expected a JSON object at the top level, found ${describe(parsed)}`, file);
  }
  return parsed as RawConfig;
}

/** Check each known key present in `raw`; unknown keys are left alone (they pass through to jobs). */
export function validateKnownKeys(raw: RawConfig, file: string, isSiteFile: boolean): void {
  for (const [key, spec] of Object.entries(KEY_SPECS) as [KnownKey, (typeof KEY_SPECS)[KnownKey]][]) {
    if (!(key in raw)) continue;
    if ('siteOnly' in spec && spec.siteOnly && !isSiteFile) {
      throw new ConfigError(`${file}: key "${key}" belongs in sites/<site>/site_config.json`, file, key);
    }
    const problem = checkKind(spec.kind, raw[key]);
    if (problem !== null) {
      const found = 'secret' in spec && spec.secret ? describeSecret(raw[key]) : describe(raw[key]);
      throw new ConfigError(`${file}: key "${key}": expected ${problem}, found ${found}`, file, key);
    }
  }
}

/** Returns null when the value fits, else a description of what was expected. */
function checkKind(kind: KeyKind, value: unknown): string | null {
  switch (kind) {
    case 'string':
      return typeof value === 'string' && value.length > 0 ? null : 'a non-empty string';
    case 'benchId':
      return typeof value === 'string' && /^[^\s{}]+$/.test(value) ? null : 'a non-empty string without spaces or braces';
    case 'url':
      return isRedisUrl(value) ? null : 'a redis:// or rediss:// URL';
    case 'positiveInt':
      return Number.isInteger(value) && (value as number) > 0 ? null : 'a whole number greater than 0';
    case 'nonNegativeInt':
      return Number.isInteger(value) && (value as number) >= 0 ? null : 'a whole number, 0 or more';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'true or false';
    case 'stringList':
      return Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0)
        ? null
        : 'a list of app names (strings)';
    case 'workers':
      return checkWorkers(value);
    case 'dbType':
      return value === 'sqlite' || value === 'postgres' ? null : '"sqlite" or "postgres"';
    case 'postgresUrl':
      return isUrlOf(value, ['postgres:', 'postgresql:']) ? null : 'a postgres:// or postgresql:// URL';
    case 'identifier':
      return typeof value === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value)
        ? null
        : 'a name of letters, digits and "_" (not starting with a digit, at most 63 characters)';
  }
}

// All-digit names are refused: JSON objects list them first, which would break the file's queue order.
const QUEUE_NAME = /^(?!\d+$)[A-Za-z0-9_-]+$/;

function checkWorkers(value: unknown): string | null {
  const expected = 'an object of queue name -> {"timeout": seconds, "background_workers": n}';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return expected;
  for (const [name, queue] of Object.entries(value)) {
    if (!QUEUE_NAME.test(name)) return `${expected}; queue names use letters, digits, "_" and "-", not digits only (bad: "${name}")`;
    if (typeof queue !== 'object' || queue === null || Array.isArray(queue)) return `${expected} (bad: "${name}")`;
    for (const field of ['timeout', 'background_workers'] as const) {
      const v = (queue as Record<string, unknown>)[field];
      if (v !== undefined && !(Number.isInteger(v) && (v as number) > 0)) {
        return `${expected}; "${name}.${field}" must be a whole number greater than 0`;
      }
    }
  }
  return null;
}

function isRedisUrl(value: unknown): boolean {
  return isUrlOf(value, ['redis:', 'rediss:']);
}

function isUrlOf(value: unknown, protocols: readonly string[]): boolean {
  if (typeof value !== 'string') return false;
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list (${truncate(JSON.stringify(value))})`;
  if (typeof value === 'string') return `"${truncate(value)}" (string)`;
  if (typeof value === 'object') return `an object (${truncate(JSON.stringify(value))})`;
  return `${String(value)} (${typeof value})`;
}

/** The type of a credential's value, never the value. */
function describeSecret(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string' && value.length === 0) return 'an empty string';
  return `${Array.isArray(value) ? 'a list' : `a ${typeof value}`} (not shown: a secret)`;
}

/** Shortened for a message, URL passwords redacted first (a cut could keep a password and lose its '@'). */
function truncate(text: string): string {
  const safe = redactText(text);
  return safe.length > 60 ? `${safe.slice(0, 57)}...` : safe;
}
