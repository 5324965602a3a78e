// The bench's Procfile, as Frappe's `bench start` (honcho) runs it: `name: command` lines, each run
// with sh in the bench folder. Renders Frappe's entries for this bench (config/Procfile: redis_queue
// when the queue Redis is local, worker, worker_<queue> per custom queue, schedule), reads a Procfile
// back, and finds the entries a Procfile lacks (a file of extras only, as the demo bench's once was).
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

/** Frappe's entries (of `renderProcfile`) that `existing` lacks, by name. */
export function missingEntries(bench: BenchConfig, existing: readonly ProcfileEntry[]): ProcfileEntry[] {
  const names = new Set(existing.map((e) => e.name));
  return parseProcfile(renderProcfile(bench), 'config/Procfile').filter((entry) => !names.has(entry.name));
}

/** `text` with `missing` added before its own lines (Redis and the workers first, the extras after). */
export function withEntries(text: string, missing: readonly ProcfileEntry[]): string {
  const added = missing.map((e) => `${e.name}: ${e.command}\n`).join('');
  return text === '' ? added : `${added}${text.endsWith('\n') ? text : `${text}\n`}`;
}
