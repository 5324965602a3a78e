// How the CLI reports: results to stdout (plain or --json), problems to stderr as
// "Error [CODE]: message", and the exit code each error maps to. Whatever failed, what is printed
// has its credentials redacted (util/redact.ts): URL passwords, secret Redis command arguments.
import { CommanderError } from 'commander';
import { isBenchError } from '../errors.js';
import { redactText, redactValue } from '../util/redact.js';

export function printResult(json: boolean, value: unknown, plain: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${plain}\n`);
}

/** Print `err` for a person and return the exit code for it. */
export function reportError(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (isBenchError(err)) {
    const message = redactText(err.message);
    if (json) process.stderr.write(`${JSON.stringify({ error: { code: err.code, message, ...(redactValue(err.details) as Record<string, unknown>) } })}\n`);
    else process.stderr.write(`Error [${err.code}]: ${message}\n`);
    return err.exitCode;
  }
  // Not raised on purpose: a bug, so the stack helps.
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`Error: ${redactText(message)}\n`);
  return 1;
}
