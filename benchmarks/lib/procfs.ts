// Memory and process-tree readings from /proc (Linux): a process's peak (VmHWM) and current (VmRSS)
// resident set, its file-backed part (RssFile) and its proportional share (PSS), and the children of a process (for the worker processes a supervisor forked).
import { readdirSync, readFileSync } from 'node:fs';

/** A "<field>: N kB" line of /proc/<pid>/status, in KiB; 0 when unreadable (the process is gone). */
export function readStatusKb(pid: number | 'self', field: 'VmHWM' | 'VmRSS' | 'RssFile'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * PSS (proportional set size) of a process, KiB, from /proc/<pid>/smaps_rollup: each shared page counts a
 * share (1/n for n processes mapping it), so the PSS of a process tree sums to what the tree really holds.
 * 0 when unreadable.
 */
export function readPssKb(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** VmHWM (peak resident set) of a process, KiB; 0 when unreadable. */
export function readVmHwmKb(pid: number | 'self' = 'self'): number {
  return readStatusKb(pid, 'VmHWM');
}

/**
 * Pids whose parent is `pid`, ascending (a scan of /proc/<n>/stat: this kernel has no task/<pid>/children).
 * Only pids above `above` are read (children get higher pids than their parent unless pids wrap around).
 */
export function childPids(pid: number, above = 0): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) <= above) continue;
    if (parentPid(Number(entry)) === pid) out.push(Number(entry));
  }
  return out.sort((a, b) => a - b);
}

/** The parent pid of a process; 0 when unreadable. */
export function parentPid(pid: number): number {
  try {
    // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) || 0;
  } catch {
    return 0;
  }
}
