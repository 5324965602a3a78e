// The root pino logger, fixed messages with variable parts in fields, secrets redacted: password fields
// by path, and every error field through util/redact.ts (URL passwords, secret Redis command arguments).
// Two formats (log-format.ts): JSON lines (process managers keep and rotate them; the default when
// stdout is not a terminal) and, on a terminal, lines pretty-printed by pino-pretty: time, level,
// worker, job id, message, the other fields, and errors with their stack. pino-pretty is loaded only
// for the pretty format and used synchronously (its prettyFactory: no stream, no thread), so a JSON
// logger costs what it did. A worker process logs through a buffer (one write for many lines, flushed
// at least every 250 ms and at exit): one write per line would cost a system call per job.
import { createRequire } from 'node:module';
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { redactValue } from '../util/redact.js';
import { colorsWanted, logFormat, type LogFormat } from './log-format.js';

export type { Logger };
export { logFormat, LOG_FORMATS, type LogFormat } from './log-format.js';

export interface LoggerOptions {
  /** --quiet: warnings and errors only. */
  quiet?: boolean;
  level?: string;
  name?: string;
  /** Buffer the lines (worker processes); call flushLogs() before a deliberate exit. */
  buffered?: boolean;
  /** Where unbuffered lines go (tests); default stdout. */
  destination?: DestinationStream;
  /** Default: logFormat() (BENCH_LOG_FORMAT, else pretty on a terminal); JSON when a destination is given. */
  format?: LogFormat;
}

/** How often a buffered logger writes what it holds. */
const FLUSH_EVERY_MS = 250;

let flushBuffered: (() => void) | undefined;

/** pino's error serializer (type, message and stack with causes, own fields), then redacted. */
function safeError(value: unknown): unknown {
  return redactValue(stdSerializers.err(value as Error));
}

/** The fields that may hold an error (or a serialized one) in a log line. */
const ERROR_KEYS = ['err', 'error', 'cause', 'jobError'] as const;
const errorSerializers = Object.fromEntries(ERROR_KEYS.map((key) => [key, safeError]));

/** A destination that pretty-prints each JSON line before writing it to `target`. */
function prettyDestination(target: DestinationStream, colorize: boolean): DestinationStream {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  const prettify = prettyFactory({
    colorize,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,name,worker,jobId',
    messageFormat: '{if worker}{worker} {end}{if jobId}{jobId} {end}{msg}',
    singleLine: true,
    errorLikeObjectKeys: [...ERROR_KEYS],
  });
  return { write: (line: string) => target.write(prettify(line)) };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env['BENCH_LOG_LEVEL'] ?? (options.quiet ? 'warn' : 'info');
  const settings = {
    name: options.name ?? 'bench',
    level,
    base: { pid: process.pid },
    serializers: errorSerializers,
    redact: { paths: ['config.rq_password', 'rq_password', 'password', '*.password', '*.rq_password'], censor: '***' },
  };
  const pretty = (options.format ?? (options.destination ? 'json' : logFormat())) === 'pretty';
  const shaped = (target: DestinationStream): DestinationStream => (pretty ? prettyDestination(target, colorsWanted()) : target);
  if (!options.buffered) {
    if (options.destination) return pino(settings, shaped(options.destination));
    return pretty ? pino(settings, shaped(pino.destination({ dest: 1, sync: true }))) : pino(settings);
  }
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
  return pino(settings, shaped(destination));
}

/** Write out what a buffered logger holds (before process.exit()). */
export function flushLogs(): void {
  flushBuffered?.();
}
