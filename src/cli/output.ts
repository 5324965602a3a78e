// How the CLI reports: results to stdout (plain or --json), problems to stderr as
// "Error [CODE]: message", and the exit code each error maps to; a reader that goes away
// (`bench ... | head -1`) ends the output quietly.
import { CommanderError } from 'commander';
import { isBenchError } from '../errors.js';

export function printResult(json: boolean, value: unknown, plain: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${plain}\n`);
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

/** Print `err` for a person and return the exit code for it. */
export function reportError(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (isBenchError(err)) {
    if (json) process.stderr.write(`${JSON.stringify({ error: { code: err.code, message: err.message, ...err.details } })}\n`);
    else process.stderr.write(`Error [${err.code}]: ${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`Error: ${message}\n`);
  return 1;
}
