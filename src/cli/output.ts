// How the CLI reports: results to stdout (plain or --json), problems to stderr as
// "Error [CODE]: message", and the exit code each error maps to. Whatever failed, what is printed
// has its credentials redacted (util/redact.ts): URL passwords, secret Redis command arguments. Plain
// text goes out with its control characters escaped (newlines kept): ids and names from users or
// Redis never reach the terminal raw. A reader that goes away (`bench ... | head -1`) ends the output
// quietly.
import { CommanderError } from 'commander';
import { isBenchError } from '../errors.js';
import { redactText, redactValue } from '../util/redact.js';
import { printable } from '../util/text.js';

export function printResult(json: boolean, value: unknown, plain: string): void {
  process.stdout.write(json ? `${jsonText(value, 2)}\n` : `${printable(plain, { multiline: true })}\n`);
}

/**
 * JSON whose strings hold no raw control character: JSON.stringify escapes U+0000-U+001F but not DEL, the
 * C1 controls or U+2028/U+2029, which appear only inside strings, where \uXXXX means the same.
 */
function jsonText(value: unknown, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(/[\u007f-\u009f\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const guarded = new WeakSet<NodeJS.WriteStream>();

/**
 * A reader that goes away (`bench ... | head -1`) closes the pipe: the next write fails with EPIPE,
 * which would end the command with a stack trace and exit 1. Instead the rest of the output is dropped
 * and the command ends as it would have (exit 0 when it succeeded, as `head` users expect). Other write
 * errors are thrown as before.
 */
export function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    stream.write = (() => true) as typeof stream.write;
  });
}

/**
 * Ends a command with this exit code and nothing on stderr: its verdict is already on stdout (Frappe's
 * `ready-for-migration` prints "NOT READY ..." there and exits 1).
 */
export class ExitStatus extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Print `err` for a person and return the exit code for it. */
export function reportError(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof ExitStatus) return err.exitCode;
  if (isBenchError(err)) {
    const message = redactText(err.message);
    if (json) process.stderr.write(`${jsonText({ error: { code: err.code, message, ...(redactValue(err.details) as Record<string, unknown>) } })}\n`);
    else process.stderr.write(`Error [${err.code}]: ${printable(message, { multiline: true })}\n`);
    return err.exitCode;
  }
  // Not raised on purpose: a bug, so the stack helps.
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`Error: ${printable(redactText(message), { multiline: true })}\n`);
  return 1;
}
