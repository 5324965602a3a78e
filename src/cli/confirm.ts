// A yes/no question before a command changes files it did not write alone (an existing Procfile, a
// supervisor config): `--yes` answers it; on a terminal the user does; anywhere else (a script, a
// pipe) there is nobody to ask, so the command stops with ERR_CONFIRMATION_REQUIRED and changes nothing.
import { createInterface } from 'node:readline/promises';
import { BenchError } from '../errors.js';

/**
 * Resolve when the change may go ahead. `question` is asked on a terminal; `what` names the change
 * in the error (e.g. "overwrite /b/config/supervisor.conf").
 */
export async function confirmChange(question: string, what: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (process.stdin.isTTY !== true) {
    throw new BenchError('ERR_CONFIRMATION_REQUIRED', `${what}: needs a confirmation; run it on a terminal to be asked, or pass --yes`, { details: { change: what } });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') {
      throw new BenchError('ERR_CONFIRMATION_REQUIRED', `${what}: not confirmed; nothing was changed`, { details: { change: what } });
    }
  } finally {
    rl.close();
  }
}
