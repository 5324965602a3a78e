// The root pino logger: JSON lines on stdout (process managers keep and rotate them), fixed messages
// with variable parts in fields, secrets redacted: password fields by path, and every error field
// through util/redact.ts (URL passwords, secret Redis command arguments). A worker process logs
// through a buffer (one write for many lines, flushed at least every 250 ms and at exit): one write
// per line would cost a system call per job.
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import { redactValue } from '../util/redact.js';

export type { Logger };

export interface LoggerOptions {
  /** --quiet: warnings and errors only. */
  quiet?: boolean;
  level?: string;
  name?: string;
  /** Buffer the lines (worker processes); call flushLogs() before a deliberate exit. */
  buffered?: boolean;
  /** Where unbuffered lines go (tests); default stdout. */
  destination?: DestinationStream;
}

/** How often a buffered logger writes what it holds. */
const FLUSH_EVERY_MS = 250;

let flushBuffered: (() => void) | undefined;

/** pino's error serializer (type, message and stack with causes, own fields), then redacted. */
function safeError(value: unknown): unknown {
  return redactValue(stdSerializers.err(value as Error));
}

/** The fields that may hold an error (or a serialized one) in a log line. */
const errorSerializers = { err: safeError, error: safeError, cause: safeError, jobError: safeError };

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env['BENCH_LOG_LEVEL'] ?? (options.quiet ? 'warn' : 'info');
  const settings = {
    name: options.name ?? 'bench',
    level,
    base: { pid: process.pid },
    serializers: errorSerializers,
    redact: { paths: ['config.rq_password', 'rq_password', 'password', '*.password', '*.rq_password'], censor: '***' },
  };
  if (!options.buffered) return options.destination ? pino(settings, options.destination) : pino(settings);
  const destination = pino.destination({ dest: 1, sync: false, minLength: 8192 });
  const flush = () => {
    try {
      destination.flushSync();
    } catch {
      // Nothing was buffered, or stdout is gone: nothing to save.
    }
  };
  flushBuffered = flush;
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref();
  process.once('exit', flush);
  return pino(settings, destination);
}

/** Write out what a buffered logger holds (before process.exit()). */
export function flushLogs(): void {
  flushBuffered?.();
}
