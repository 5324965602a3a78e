// The root pino logger: JSON lines on stdout (process managers keep and rotate them), fixed messages
// with variable parts in fields, secrets redacted.
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** --quiet: warnings and errors only. */
  quiet?: boolean;
  level?: string;
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env['BENCH_LOG_LEVEL'] ?? (options.quiet ? 'warn' : 'info');
  return pino({
    name: options.name ?? 'bench',
    level,
    base: { pid: process.pid },
    redact: { paths: ['config.rq_password', 'rq_password', 'password', '*.password'], censor: '***' },
  });
}
