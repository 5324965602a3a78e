// How the CLI reports: results to stdout (plain or --json), problems to stderr as
// "Error [CODE]: message", and the exit code each error maps to.
import { CommanderError } from 'commander';
import { isBenchError } from '../errors.js';

export function printResult(json: boolean, value: unknown, plain: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${plain}\n`);
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
