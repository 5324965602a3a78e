// Every error bench-worker raises on purpose: one base class with a stable machine `code`
// (callers branch on it, never on message text) and the exit code the CLI maps it to.
import { redactText } from './util/redact.js';
import type { SerializedError } from './vocabulary.js';

export type BenchErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_CONFIG_LOCKED'
  | 'ERR_BENCH_ORPHANED'
  | 'ERR_BENCH_NOT_FOUND'
  | 'ERR_SITE_NOT_FOUND'
  | 'ERR_QUEUE_UNKNOWN'
  | 'ERR_ENQUEUE_INVALID'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_JOB_EXISTS'
  | 'ERR_QUEUE_OVERLOADED'
  | 'ERR_ENQUEUE_INCOMPLETE'
  | 'ERR_RESUME_INVALID'
  | 'ERR_JOB_NOT_FOUND'
  | 'ERR_JOB_FAILED'
  | 'ERR_WAIT_TIMEOUT'
  | 'ERR_CLIENT_CLOSED'
  | 'ERR_JOB_LOAD'
  | 'ERR_APP_NOT_INSTALLED'
  | 'ERR_JOB_TIMEOUT'
  | 'ERR_JOB_STOPPED'
  | 'ERR_JOB_NOT_RUNNING'
  | 'ERR_JOB_CRASHED'
  | 'ERR_RESULT_NOT_SERIALISABLE'
  | 'ERR_REDIS_UNAVAILABLE'
  | 'ERR_REDIS_SCRIPT'
  | 'ERR_REDIS_NOPERM'
  | 'ERR_REDIS_NOREPLICAS'
  | 'ERR_LEASE_LOST'
  | 'ERR_JOB_STATE'
  | 'ERR_JOB_AMBIGUOUS'
  | 'ERR_QUEUE_UNSERVED'
  | 'ERR_RETRY_BACKGROUND_JOB'
  | 'ERR_DOC_NOT_FOUND'
  | 'ERR_AFTER_COMMIT'
  | 'ERR_DB'
  | 'ERR_UNSAFE_PATH'
  | 'ERR_CONFIRMATION_REQUIRED'
  | 'ERR_FILE_EXISTS'
  | 'ERR_COMMAND_FAILED'
  | 'ERR_TEMPLATE'
  | 'ERR_ALREADY_EXISTS'
  | 'ERR_DASHBOARD_INSECURE'
  | 'ERR_PORT_IN_USE'
  | 'ERR_NOT_INDEXED'
  | 'ERR_USAGE';

const brand = Symbol.for('bench-worker.error');

export interface BenchErrorOptions {
  cause?: unknown;
  /** Exit code the CLI uses when this error ends a command (default 1). */
  exitCode?: number;
  /** Extra structured fields, logged and shown with --json. */
  details?: Record<string, unknown>;
}

export class BenchError extends Error {
  readonly code: BenchErrorCode;
  readonly exitCode: number;
  readonly details: Record<string, unknown>;
  readonly [brand] = true;

  constructor(code: BenchErrorCode, message: string, options: BenchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details ?? {};
  }
}
Object.defineProperty(BenchError.prototype, 'name', { value: 'BenchError', enumerable: false });

/** A config file is missing, malformed or holds a value of the wrong type. */
export class ConfigError extends BenchError {
  readonly file: string;
  readonly key: string | undefined;

  constructor(message: string, file: string, key?: string, options: BenchErrorOptions = {}) {
    super('ERR_CONFIG_INVALID', message, { ...options, details: { file, key, ...options.details } });
    this.file = file;
    this.key = key;
  }
}
Object.defineProperty(ConfigError.prototype, 'name', { value: 'ConfigError', enumerable: false });

/** A job's method could not be resolved to a callable function. */
export class JobLoadError extends BenchError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ERR_JOB_LOAD', message, { details, cause });
  }
}
Object.defineProperty(JobLoadError.prototype, 'name', { value: 'JobLoadError', enumerable: false });

/**
 * Thrown by a job to ask for another try (Frappe's frappe.RetryBackgroundJobError): the job's
 * transaction is rolled back and the job function runs again after a growing wait (1, 2, 3, 4, 5 s),
 * at most 5 more times and never past the job's timeout; then the job fails with this error.
 */
export class RetryBackgroundJobError extends BenchError {
  constructor(message = 'the job asked to be retried', options: BenchErrorOptions = {}) {
    super('ERR_RETRY_BACKGROUND_JOB', message, options);
  }
}
Object.defineProperty(RetryBackgroundJobError.prototype, 'name', { value: 'RetryBackgroundJobError', enumerable: false });

export function isBenchError(value: unknown): value is BenchError {
  return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
}

/**
 * Describe any thrown value as a plain record (message, stack, code) safe to store as JSON and to
 * show: URL passwords in the message and stack are redacted.
 */
export function serializeError(value: unknown): SerializedError {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    const out: SerializedError = { name: value.name, message: redactText(value.message) };
    if (value.stack !== undefined) out.stack = redactText(value.stack);
    if (typeof code === 'string') out.code = code;
    return out;
  }
  return { name: 'NonError', message: redactText(typeof value === 'string' ? value : safeJson(value)) };
}

/** An Error again from a SerializedError (what a killed job's onFailure callback receives). */
export function reviveError(error: SerializedError): Error {
  const revived = error.code?.startsWith('ERR_') ? new BenchError(error.code as BenchErrorCode, error.message) : new Error(error.message);
  if (revived.name !== error.name) Object.defineProperty(revived, 'name', { value: error.name, enumerable: false });
  if (error.stack !== undefined) revived.stack = error.stack;
  else delete revived.stack;
  return revived;
}

/**
 * A SerializedError to log under `err`: an Error again, so that pino's error serializer writes its name,
 * message and stack (a plain object would be logged as `"type":"Object"`). Failures only: not a hot path.
 */
export function errorForLog(error: SerializedError): Error {
  const logged: Error & { code?: string } = new Error(error.message);
  // An own enumerable name: pino's serializer copies it next to `type` (the constructor's name, Error).
  Object.defineProperty(logged, 'name', { value: error.name, enumerable: true, writable: true, configurable: true });
  if (error.stack !== undefined) logged.stack = error.stack;
  else delete logged.stack;
  if (error.code !== undefined) logged.code = error.code;
  return logged;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
