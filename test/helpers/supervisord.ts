// Starts a private supervisord for a test (in the foreground, its socket and logs in a throwaway
// folder) that includes program files through conf.d links, as an operator installs them; stopped
// by pid when the test ends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './wait-for.ts';

export interface TestSupervisord {
  dir: string;
  process: ChildProcess;
  /** `supervisorctl status`: program (group:name) -> state (STARTING, RUNNING, BACKOFF, FATAL ...). */
  status(): Map<string, string>;
  /** SIGTERM (supervisord stops its programs first), then SIGKILL if it is still up after `ms`. */
  stop(ms?: number): Promise<void>;
}

/** The Python that runs supervisord (its #! line): the one that can import the supervisor package. */
export function supervisorPython(): string {
  const which = spawnSync('sh', ['-c', 'command -v supervisord'], { encoding: 'utf8' });
  const file = which.stdout.trim();
  if (which.status !== 0 || !file) throw new Error('supervisord is not installed (apt-get install supervisor)');
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(file, 'utf8'));
  return shebang?.[1] ?? 'python3';
}

export async function startSupervisord(includes: readonly string[]): Promise<TestSupervisord> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bw-supervisord-'));
  mkdirSync(path.join(dir, 'conf.d'));
  includes.forEach((file, i) => symlinkSync(file, path.join(dir, 'conf.d', `${i}.conf`)));
  const conf = path.join(dir, 'supervisord.conf');
  writeFileSync(
    conf,
    `[unix_http_server]
file=${dir}/supervisor.sock
[supervisord]
logfile=${dir}/supervisord.log
pidfile=${dir}/supervisord.pid
childlogdir=${dir}
nodaemon=true
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://${dir}/supervisor.sock
[include]
files = conf.d/*.conf
`,
  );
  const child = spawn('supervisord', ['-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => {}); // reported by the wait below
  const status = (): Map<string, string> => {
    const run = spawnSync('supervisorctl', ['-c', conf, 'status'], { encoding: 'utf8' });
    const states = new Map<string, string>();
    for (const line of run.stdout.split('\n')) {
      const [name, state] = line.trim().split(/\s+/);
      if (name && state) states.set(name, state);
    }
    return states;
  };
  const handle: TestSupervisord = {
    dir,
    process: child,
    status,
    async stop(ms = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), ms);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await waitFor(() => status().size > 0, { timeoutMs: 15_000, intervalMs: 200, what: 'supervisord to answer supervisorctl' });
  return handle;
}
