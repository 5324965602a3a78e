// Which log format a process uses: `--log-format pretty|json` (the CLI exports it as BENCH_LOG_FORMAT,
// so that every process it starts, worker processes and `bench start`'s, uses the same), else pretty
// when stdout is a terminal and JSON otherwise (files, pipes, process managers).

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The environment variable carrying the format to child processes. */
export const LOG_FORMAT_ENV = 'BENCH_LOG_FORMAT';

export function isLogFormat(value: unknown): value is LogFormat {
  return (LOG_FORMATS as readonly unknown[]).includes(value);
}

/** BENCH_LOG_FORMAT when it is pretty or json, else pretty on a terminal and JSON elsewhere. */
export function logFormat(env: NodeJS.ProcessEnv = process.env, stdoutIsTty = Boolean(process.stdout.isTTY)): LogFormat {
  const given = env[LOG_FORMAT_ENV];
  if (isLogFormat(given)) return given;
  return stdoutIsTty ? 'pretty' : 'json';
}

/** Colours in pretty lines: on a terminal unless NO_COLOR is set; anywhere with FORCE_COLOR (not 0). */
export function colorsWanted(env: NodeJS.ProcessEnv = process.env, stdoutIsTty = Boolean(process.stdout.isTTY)): boolean {
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '' && force !== '0') return true;
  return stdoutIsTty && env['NO_COLOR'] === undefined;
}
