// The bench's Procfile, as Frappe's `bench start` (honcho) runs it: `name: command` lines, each run
// with sh in the bench folder. Renders Frappe's entries for this bench (config/Procfile: redis_queue
// when the queue Redis is local, worker, worker_<queue> per custom queue, schedule, and this package's
// dashboard), reads a Procfile back, and finds the entries a Procfile lacks (a file of extras only, as
// the demo bench's once was, or one written before the dashboard entry existed).
import { readFileSync } from 'node:fs';
import type { BenchConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import { runsLocalRedis } from './setup-files.js';
import { renderTemplate } from './templates.js';
import { benchCommand } from './worker-groups.js';

export interface ProcfileEntry {
  name: string;
  command: string;
  /** 1-based line in its file. */
  line: number;
}

export const PROCFILE = 'Procfile';

/** Frappe's Procfile for `bench`, with every command naming this package's bench by absolute path. */
export function renderProcfile(bench: BenchConfig): string {
  return renderTemplate('Procfile', {
    redis: runsLocalRedis(bench),
    worker: benchCommand(['worker']),
    custom_workers: bench.queues.slice(3).map((queue) => ({ queue: queue.name, command: benchCommand(['worker', '--queue', queue.name]) })),
    schedule: benchCommand(['schedule']),
    dashboard: benchCommand(['dashboard']),
  });
}

/** The entries of a Procfile text; a line that is not `name: command` is ERR_CONFIG_INVALID naming its line. */
export function parseProcfile(text: string, file: string): ProcfileEntry[] {
  const entries: ProcfileEntry[] = [];
  // Number the lines before dropping blank and comment lines, so an error names the file's own line.
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line);
    if (!match) throw new BenchError('ERR_CONFIG_INVALID', `${file}: line ${i + 1}: expected "name: command"`, { details: { file, line: i + 1 } });
    const name = match[1] as string;
    if (entries.some((e) => e.name === name)) {
      throw new BenchError('ERR_CONFIG_INVALID', `${file}: line ${i + 1}: "${name}" is defined twice`, { details: { file, line: i + 1 } });
    }
    entries.push({ name, command: match[2] as string, line: i + 1 });
  });
  return entries;
}

export function readProcfile(file: string): ProcfileEntry[] {
  return parseProcfile(readFileSync(file, 'utf8'), file);
}

/** What a Procfile lacks of Frappe's entries (of `renderProcfile`), by name, and where they would go. */
export interface ProcfileGap {
  missing: ProcfileEntry[];
  /** The line of the last of Frappe's entries the Procfile has (0 when it has none): the missing go after it. */
  after: number;
}

export function missingEntries(bench: BenchConfig, existing: readonly ProcfileEntry[]): ProcfileGap {
  const own = parseProcfile(renderProcfile(bench), 'config/Procfile');
  const names = new Set(existing.map((e) => e.name));
  const ownNames = new Set(own.map((e) => e.name));
  const after = Math.max(0, ...existing.filter((e) => ownNames.has(e.name)).map((e) => e.line));
  return { missing: own.filter((entry) => !names.has(entry.name)), after };
}

/**
 * `text` with `missing` added after its line `after` (1-based; 0: before its own lines), so that Frappe's
 * entries stay together ahead of the extras: a Procfile of extras only gets them first, one written
 * before the dashboard entry existed gets it after its `schedule`.
 */
export function withEntries(text: string, missing: readonly ProcfileEntry[], after = 0): string {
  const lines = text === '' ? [] : (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  lines.splice(after, 0, ...missing.map((e) => `${e.name}: ${e.command}`));
  return `${lines.join('\n')}\n`;
}
