// A small process manager for `bench start`: runs named commands, prefixes each output line with the
// process name, and stops them in reverse start order (SIGTERM, then SIGKILL after a grace), each as a
// whole process group so that nothing is left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnSpec {
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

export class ProcessGroup {
  readonly processes: ManagedProcess[] = [];
  private readonly width: number;

  constructor(names: readonly string[]) {
    this.width = Math.max(8, ...names.map((n) => n.length));
  }

  start(spec: SpawnSpec): ManagedProcess {
    // detached: each process leads its own group, so a terminal Ctrl-C reaches only us and we stop
    // them in order; killing the group also takes their own children.
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const prefix = `${spec.name.padEnd(this.width)} | `;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix}${line}\n`));
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (err) => {
        process.stdout.write(`${prefix}failed to start: ${err.message}\n`);
        resolve({ code: 127, signal: null });
      });
    });
    const managed = { name: spec.name, child, exited };
    this.processes.push(managed);
    return managed;
  }

  /** Stop every process, last started first. */
  async stopAll(graceMs: number): Promise<void> {
    for (const managed of [...this.processes].reverse()) await stopOne(managed, graceMs);
  }

  /** SIGKILL every process group at once (second Ctrl-C). */
  killAll(): void {
    for (const managed of this.processes) signalGroup(managed.child, 'SIGKILL');
  }
}

async function stopOne(managed: ManagedProcess, graceMs: number): Promise<void> {
  if (managed.child.exitCode !== null || managed.child.signalCode !== null) {
    signalGroup(managed.child, 'SIGKILL');
    return;
  }
  signalGroup(managed.child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(managed.child, 'SIGKILL'), graceMs);
  await managed.exited;
  clearTimeout(timer);
  // Whatever the leader left in its group goes too.
  signalGroup(managed.child, 'SIGKILL');
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}
