// Runs the real `bench` command (bin/bench.js) as a child process and collects its output.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './bench.ts';

export const BENCH_BIN = path.join(REPO_ROOT, 'bin/bench.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runBench(args: readonly string[], options: { cwd: string; input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnBench(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench ${args.join(' ')} did not finish in ${options.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Start `bench ...` and return the process (for long-running commands such as `worker`). */
export function spawnBench(args: readonly string[], options: { cwd: string; input?: string; env?: NodeJS.ProcessEnv; detached?: boolean }): ChildProcess {
  return spawn(process.execPath, [BENCH_BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
}

/** Collect a running process's output lines, parsed as JSON when they are (pino logs). */
export function collectLogs(child: ChildProcess): { lines: Record<string, unknown>[]; text: () => string } {
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      raw += `${line}\n`;
      if (!line.trim()) return;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    });
  }
  return { lines, text: () => raw };
}

/** A CLI run as text for an assertion message: its exit code, stdout and stderr. */
export const shown = (r: CliResult): string => `exit ${String(r.code)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Asserts that the run succeeded quietly (exit 0, nothing on stderr); resolves to its stdout. */
export function ok(r: CliResult): string {
  assert.equal(r.code, 0, shown(r));
  assert.equal(r.stderr, '', shown(r));
  return r.stdout;
}

/** Asserts that the run exited with `code` and a stderr matching `stderr`. */
export function failed(r: CliResult, code: number, stderr: RegExp): void {
  assert.equal(r.code, code, shown(r));
  assert.match(r.stderr, stderr, shown(r));
}
