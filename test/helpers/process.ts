// Process checks shared by the tests that kill workers and children, and the clean-up that keeps a
// failing test from leaving processes behind: a bounded wait for a process to exit, a kill of a
// detached child's whole process group, and a kill (by pid) of the worker processes this test forked.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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

/** Parent pid of `pid` from /proc, or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Pids of every live descendant of `root` (children, their children, ...). */
export function descendants(root: number = process.pid): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const parent = parentOf(pid);
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/**
 * SIGKILL the worker processes (src/worker/worker-process) among this test process's descendants: the
 * ones an in-process supervisor forked, which a job blocking its event loop would keep alive (and the
 * test runner with them) after a failed test. Leaves redis-server and everything else alone.
 */
export function killWorkerProcesses(): number[] {
  const killed: number[] = [];
  for (const pid of descendants()) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!/worker-process\.(js|ts)/.test(cmdline)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // already gone
    }
  }
  return killed;
}

/**
 * SIGKILL the process group of a child started with `detached: true` (it leads its own group): the
 * child and whatever it forked (worker processes, job children) that did not leave the group.
 */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

/** The exit code of `child` (signal name when killed), or a rejection after `timeoutMs`. */
export function exitOf(child: ChildProcess, timeoutMs: number, what = `process ${String(child.pid)} to exit`): Promise<number | NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return within(new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal))), timeoutMs, what);
}

/** `promise`, or a rejection naming `what` once `timeoutMs` passed (the timer does not hold the process open). */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
