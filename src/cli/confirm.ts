// Asking before a destructive command: `--yes` answers for the user; on a terminal the question is asked
// on stderr and only "y" or "yes" goes on; without a terminal (a script, a pipe) and without --yes the
// command stops before it changes anything, saying how to confirm.
import { createInterface } from 'node:readline/promises';
import { BenchError } from '../errors.js';
import { ExitStatus } from './output.js';

/** Resolves when the user confirmed `question` (or gave --yes); else throws, nothing having been done. */
export async function confirm(question: string, yes: boolean, command: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new BenchError('ERR_USAGE', `${question}: confirm with --yes (bench ${command} --yes); stdin is not a terminal to ask on. Nothing was changed.`, { exitCode: 2 });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question}? [y/N] `)).trim().toLowerCase();
    if (answer === 'y' || answer === 'yes') return;
  } finally {
    rl.close();
  }
  process.stderr.write('aborted: nothing was changed\n');
  throw new ExitStatus(1);
}
