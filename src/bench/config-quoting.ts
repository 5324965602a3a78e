// Writes a path (or a command line) into each format `bench setup` generates, quoted by that format's
// own rules, and refuses with ERR_UNSAFE_PATH what a format cannot hold: a control character (a
// newline would start a directive of its own), and the few spellings one format has no escape for.
//  - systemd units: ExecStart= words are unquoted by systemd.syntax(7) ("…" with \\ and \"), then
//    specifiers (% -> %%) and, in the arguments, environment variables ($ -> $$) are expanded; the
//    executable's path may hold none of \ " '. Other settings take the path raw with specifiers
//    expanded; every line is stripped, and a trailing "\" continues it.
//  - supervisor (Python's INI): every value is %-interpolated (% -> %%; stdout_logfile/stderr_logfile
//    twice), " ;" and " #" start an inline comment, values are stripped, "%(here)s" in a value of an
//    included file is replaced by its folder; command= is then split by shlex (POSIX rules).
//  - redis.conf: a double-quoted string with \\ and \" escapes.
//  - sh, for the commands printed to copy: single quotes.
import { BenchError } from '../errors.js';

export type ConfigFormat = 'systemd' | 'supervisor' | 'redis';

/** Characters that need no quoting in any of the formats. */
const PLAIN = /^[A-Za-z0-9_@+=:,./-]+$/;

/**
 * Throw ERR_UNSAFE_PATH when `value` (`what`, e.g. "bench path") cannot be written into `file`
 * (of `format`) so that it reads back as itself.
 */
export function refuseUnsafe(value: string, what: string, format: ConfigFormat, file: string, options: { executable?: boolean } = {}): void {
  const problem = unsafeBecause(value, format, options.executable ?? false);
  if (problem === undefined) return;
  throw new BenchError(
    'ERR_UNSAFE_PATH',
    `${what} ${JSON.stringify(value)} ${problem}, which ${file} cannot hold safely: use a path without it`,
    { details: { path: value, file, format, problem } },
  );
}

function unsafeBecause(value: string, format: ConfigFormat, executable: boolean): string | undefined {
  const control = /\p{Cc}/u.exec(value);
  if (control) return `holds a control character (U+${(control[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')})`;
  if (format === 'systemd' && /[\s\\]$/.test(value)) return 'ends with whitespace or a backslash (a unit file strips the one and continues the line after the other)';
  if (format === 'systemd' && executable && /[\\"']/.test(value)) return 'holds a backslash or a quote (systemd refuses them in the path of the program ExecStart= runs)';
  if (format === 'supervisor') {
    if (/\s[;#]/.test(value)) return 'holds whitespace followed by ";" or "#" (an inline comment in supervisor\'s INI)';
    if (/\s$/.test(value)) return 'ends with whitespace (supervisor strips it)';
    if (value.includes('%(here)s')) return 'holds "%(here)s" (supervisor replaces it in an included file)';
  }
  return undefined;
}

/**
 * An ExecStart= command line: each word quoted when needed, specifiers escaped, and variables in
 * the arguments (systemd does not expand them in the program's path).
 */
export function systemdExec(argv: readonly string[]): string {
  return argv.map((word, i) => systemdExecWord(word, i > 0)).join(' ');
}

function systemdExecWord(word: string, argument: boolean): string {
  if (PLAIN.test(word)) return word;
  const escaped = word.replace(/%/g, '%%');
  return `"${(argument ? escaped.replace(/\$/g, '$$$$') : escaped).replace(/[\\"]/g, '\\$&')}"`;
}

/** A path in a unit setting that takes it raw (WorkingDirectory=, StandardOutput=append:…). */
export function systemdPath(value: string): string {
  return value.replace(/%/g, '%%');
}

/** A command= value: shlex-quoted words, ";" and "#" outside quotes, then % doubled. */
export function supervisorCommand(argv: readonly string[]): string {
  return argv.map(shlexWord).join(' ').replace(/%/g, '%%');
}

function shlexWord(word: string): string {
  if (PLAIN.test(word)) return word;
  return `"${word.replace(/[\\"]/g, '\\$&').replace(/[;#]/g, '"\\$&"')}"`;
}

/**
 * A path value of supervisor's INI. `interpolations`: how many times supervisor %-expands it
 * (stdout_logfile and stderr_logfile are expanded twice).
 */
export function supervisorPath(value: string, interpolations: 1 | 2 = 1): string {
  return value.replace(/%/g, interpolations === 1 ? '%%' : '%%%%');
}

/** A redis.conf argument: always double-quoted. */
export function redisString(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** One word for sh: as is when plain, else single-quoted. */
export function shellWord(value: string): string {
  return PLAIN.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
