// Process checks shared by the tests that kill workers and children.
import { readFileSync } from 'node:fs';

/**
 * True while `pid` names a running process: signal 0 probes without signalling, and a zombie (dead,
 * waiting for its parent or init to collect it) does not count as running.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return processState(pid) !== 'Z';
}

/** The one-letter state of `pid` from /proc (R, S, D, Z, ...), or undefined when it cannot be read. */
export function processState(pid: number): string | undefined {
  try {
    // Format: "pid (comm) S ...": the state follows the last ')', as comm may hold spaces or parens.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
