// Reads kwargs for `bench enqueue`: one JSON object from --kwargs, or one per line from
// --kwargs-file (a path, or "-" for stdin). Every line is checked before anything is enqueued.
import { readFileSync } from 'node:fs';
import { BenchError } from '../errors.js';

export function parseKwargsOption(text: string): Record<string, unknown> {
  return parseObject(text, '--kwargs');
}

export interface KwargsFile {
  /** One kwargs object per non-blank line, as its JSON text (checked to be a JSON object; stored as written). */
  list: string[];
  /** How errors name entry `index` of the list: the file and its line (blank lines counted). */
  describe(index: number): string;
}

export async function readKwargsFile(file: string): Promise<KwargsFile> {
  const text = file === '-' ? await readStdin() : readFile(file);
  const where = file === '-' ? 'stdin' : file;
  const list: string[] = [];
  const lineOf: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    parseObject(line, `${where}: line ${i + 1}`);
    list.push(line);
    lineOf.push(i + 1);
  }
  if (list.length === 0) throw new BenchError('ERR_ENQUEUE_INVALID', `${where}: no JSON lines to enqueue`);
  return { list, describe: (index) => `${where}: line ${lineOf[index] ?? index + 1}` };
}

function parseObject(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BenchError('ERR_ENQUEUE_INVALID', `${where}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BenchError('ERR_ENQUEUE_INVALID', `${where}: kwargs must be a JSON object like {"n": 1}`);
  }
  return value as Record<string, unknown>;
}

function readFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new BenchError('ERR_USAGE', `--kwargs-file ${file}: cannot be read (${(err as Error).message})`, { exitCode: 2 });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
