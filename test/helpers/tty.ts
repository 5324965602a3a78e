// Runs the real `bench` on a pseudo-terminal (util-linux `script`), for what only happens on a
// terminal: questions (answered by writing to its input once the question shows) and coloured output.
import { spawn } from 'node:child_process';
import { shellWord } from '../../src/bench/config-quoting.ts';
import { BENCH_BIN } from './cli.ts';
import { within } from './process.ts';

export interface TtyResult {
  code: number | null;
  /** Everything the terminal showed (stdout and stderr, with \r\n line ends). */
  output: string;
}

/**
 * `bench ...args` on a terminal; when `answer` is given, it is typed once `question` shows. `-e` makes
 * script exit with the command's code.
 */
export function runBenchOnTty(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; question?: RegExp; answer?: string; timeoutMs?: number }): Promise<TtyResult> {
  const command = [process.execPath, BENCH_BIN, ...args].map(shellWord).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let answered = false;
  const onData = (d: Buffer) => {
    output += d.toString();
    if (!answered && options.answer !== undefined && options.question?.test(output)) {
      answered = true;
      child.stdin.write(options.answer);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const done = new Promise<TtyResult>((resolve) => child.once('exit', (code) => resolve({ code, output })));
  return within(done, options.timeoutMs ?? 30_000, `bench ${args.join(' ')} on a terminal`).finally(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
}
