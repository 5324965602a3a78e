// A small honcho-style process manager for `bench start`: runs named commands, each as its own
// process group, prefixes each output line with the process name (coloured on a terminal), and
// stops them all when one ends or when asked: the signal goes to every process group at once, the
// Redis entries (redis_*) last so that workers can still record their jobs, then SIGKILL after a
// grace so that nothing is left behind. The exit code is that of the first process that failed on
// its own (128 + signal number when a signal ended it), else 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<ProcessExit>;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnSpec {
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

export interface OutputOptions {
  /** Prefix each line with the process name (`--no-prefix` turns it off). */
  prefix: boolean;
  /** Colour the prefixes (a terminal, and NO_COLOR unset). */
  color: boolean;
  write?: (text: string) => void;
}

/** honcho's colours, in its order: cyan, yellow, green, magenta, red, blue, then their bright forms. */
const COLORS = ['36', '33', '32', '35', '31', '34', '1;36', '1;33', '1;32', '1;35', '1;31', '1;34'];

/** Colour is for terminals: off when stdout is not one, or when NO_COLOR is set (no-color.org). */
export function wantsColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && !process.env['NO_COLOR'];
}

export class ProcessGroup {
  readonly processes: ManagedProcess[] = [];
  private readonly width: number;
  private readonly write: (text: string) => void;
  /** The first process that ended before anyone asked it to, and how. */
  private firstExit: { name: string; exit: ProcessExit } | undefined;
  private stopping = false;
  private readonly ended: Promise<void>;
  private endNow: () => void = () => {};

  constructor(
    names: readonly string[],
    private readonly output: OutputOptions,
  ) {
    this.width = Math.max(6, ...names.map((n) => n.length));
    this.write = output.write ?? ((text) => process.stdout.write(text));
    this.ended = new Promise((resolve) => (this.endNow = resolve));
  }

  /** A line of the manager itself (honcho prints these under the name "system"). */
  say(line: string): void {
    this.write(`${this.prefix('system', COLORS.length)}${line}\n`);
  }

  private prefix(name: string, index: number): string {
    if (!this.output.prefix) return '';
    const text = `${name.padEnd(this.width)} | `;
    return this.output.color ? `\x1b[${COLORS[index % COLORS.length] as string}m${text}\x1b[0m` : text;
  }

  start(spec: SpawnSpec): ManagedProcess {
    const prefix = this.prefix(spec.name, this.processes.length);
    // detached: each process leads its own group, so a terminal Ctrl-C reaches only us and we
    // forward it; signalling the group also reaches their own children.
    const child = spawn(spec.command, [...spec.args], { cwd: spec.cwd, env: spec.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.write(`${prefix}${line}\n`));
    }
    const exited = new Promise<ProcessExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (err) => {
        this.write(`${prefix}failed to start: ${err.message}\n`);
        resolve({ code: 127, signal: null });
      });
    });
    const managed = { name: spec.name, child, exited };
    this.processes.push(managed);
    void exited.then((exit) => {
      if (this.stopping) return;
      this.firstExit ??= { name: spec.name, exit };
      this.say(`${spec.name} exited (${describe(exit)}); stopping the others`);
      this.endNow();
    });
    return managed;
  }

  /** Resolves when one process ended on its own or `stop` was called. */
  untilEnd(): Promise<void> {
    return this.ended;
  }

  /**
   * Send `signal` to every process group at once (the Redis ones once the others have ended), SIGKILL
   * what is still up after `graceMs`, and resolve with the exit code of the whole run.
   */
  async stop(signal: NodeJS.Signals, graceMs: number): Promise<{ code: number; failed?: string }> {
    this.stopping = true;
    this.endNow();
    const isRedis = (p: ManagedProcess) => p.name.startsWith('redis_');
    await Promise.all(this.processes.filter((p) => !isRedis(p)).map((p) => stopOne(p, signal, graceMs)));
    await Promise.all(this.processes.filter(isRedis).map((p) => stopOne(p, signal, graceMs)));
    const first = this.firstExit;
    if (!first) return { code: 0 };
    const { code, signal: killedBy } = first.exit;
    const exitCode = code ?? 128 + (killedBy ? constants.signals[killedBy] : 0);
    return exitCode === 0 ? { code: 0 } : { code: exitCode, failed: `${first.name} exited (${describe(first.exit)})` };
  }

  /** SIGKILL every process group at once (a second Ctrl-C). */
  killAll(): void {
    for (const managed of this.processes) signalGroup(managed.child, 'SIGKILL');
  }
}

function describe(exit: ProcessExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

async function stopOne(managed: ManagedProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (managed.child.exitCode === null && managed.child.signalCode === null) {
    signalGroup(managed.child, signal);
    const timer = setTimeout(() => signalGroup(managed.child, 'SIGKILL'), graceMs);
    await managed.exited;
    clearTimeout(timer);
  }
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
