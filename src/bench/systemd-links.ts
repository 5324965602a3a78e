// `bench setup systemd --create-symlinks | --delete-symlinks | --stop`, as frappe-bench's: link the
// bench's units (config/systemd/*) into systemd's unit folder, remove those links, or stop the group
// targets the bench's target requires; then `systemctl daemon-reload`. The unit folder is
// /etc/systemd/system, or $BENCH_SYSTEMD_DIR (tests, and systems that keep units elsewhere).
// systemctl runs through sudo unless we are root. Links are all checked before any is made: a file
// in the way is ERR_FILE_EXISTS and nothing changes.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';

export function systemdUnitDir(): string {
  return process.env['BENCH_SYSTEMD_DIR'] || '/etc/systemd/system';
}

function unitsDir(bench: BenchConfig): string {
  return path.join(bench.path, 'config', 'systemd');
}

/** Link every unit of config/systemd/ into the unit folder; returns the links made. */
export function createSymlinks(bench: BenchConfig): string[] {
  const source = unitsDir(bench);
  const units = existsSync(source) ? readdirSync(source).sort() : [];
  if (units.length === 0) throw new BenchError('ERR_USAGE', `${source} holds no units: run bench setup systemd first`, { exitCode: 2 });
  const target = systemdUnitDir();
  const todo: { from: string; to: string }[] = [];
  for (const unit of units) {
    const from = path.join(source, unit);
    const to = path.join(target, unit);
    const existing = lstatOrUndefined(to);
    if (existing === undefined) todo.push({ from, to });
    else if (!existing.isSymbolicLink() || readlinkSync(to) !== from) {
      throw new BenchError('ERR_FILE_EXISTS', `${to} exists and is not a link to ${from}: remove it first (nothing was linked)`, { details: { path: to } });
    }
  }
  for (const { from, to } of todo) {
    try {
      symlinkSync(from, to);
    } catch (err) {
      throw new BenchError('ERR_COMMAND_FAILED', `cannot link ${to}: ${(err as Error).message} (run as root)`, { cause: err });
    }
  }
  systemctl(['daemon-reload']);
  return todo.map(({ to }) => to);
}

/** Remove the links of the unit folder that point into this bench's config/systemd/; returns them. */
export function deleteSymlinks(bench: BenchConfig): string[] {
  const source = `${unitsDir(bench)}${path.sep}`;
  const target = systemdUnitDir();
  const removed: string[] = [];
  for (const entry of existsSync(target) ? readdirSync(target).sort() : []) {
    const link = path.join(target, entry);
    if (!lstatOrUndefined(link)?.isSymbolicLink()) continue;
    if (!path.resolve(target, readlinkSync(link)).startsWith(source)) continue;
    try {
      unlinkSync(link);
    } catch (err) {
      throw new BenchError('ERR_COMMAND_FAILED', `cannot remove ${link}: ${(err as Error).message} (run as root)`, { cause: err });
    }
    removed.push(link);
  }
  systemctl(['daemon-reload']);
  return removed;
}

/** Stop `targets` (the bench target's Requires=): their units are PartOf= them and stop with them. */
export function stopTargets(targets: readonly string[]): void {
  systemctl(['stop', '--', ...targets]);
}

function systemctl(args: readonly string[]): void {
  const argv = process.getuid?.() === 0 ? ['systemctl', ...args] : ['sudo', 'systemctl', ...args];
  const run = spawnSync(argv[0] as string, argv.slice(1), { stdio: 'inherit' });
  if (run.error || run.status !== 0) {
    const why = run.error ? run.error.message : `exit code ${String(run.status)}`;
    throw new BenchError('ERR_COMMAND_FAILED', `${argv.join(' ')} failed: ${why}`, { details: { argv, status: run.status } });
  }
}

function lstatOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}
