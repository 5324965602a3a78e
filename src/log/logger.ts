// The root pino logger: JSON lines on stdout (process managers keep and rotate them), fixed messages
// with variable parts in fields, secrets redacted. A worker process logs through a buffer (one write
// for many lines, flushed at least every 250 ms and at exit): one write per line would cost a system
// call per job.
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** --quiet: warnings and errors only. */
  quiet?: boolean;
  level?: string;
  name?: string;
  /** Buffer the lines (worker processes); call flushLogs() before a deliberate exit. */
  buffered?: boolean;
}

/** How often a buffered logger writes what it holds. */
const FLUSH_EVERY_MS = 250;

let flushBuffered: (() => void) | undefined;

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env['BENCH_LOG_LEVEL'] ?? (options.quiet ? 'warn' : 'info');
  const settings = {
    name: options.name ?? 'bench',
    level,
    base: { pid: process.pid },
    redact: { paths: ['config.rq_password', 'rq_password', 'password', '*.password'], censor: '***' },
  };
  if (!options.buffered) return pino(settings);
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
