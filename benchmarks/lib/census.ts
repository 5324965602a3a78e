// Command census: counts, through MONITOR on the private server, the commands clients send (each
// EVALSHA, each command of a pipeline or MULTI counts one) apart from those Lua scripts run inside
// Redis ("lua" source). Used in a separate, untimed pass because MONITOR slows the server down.
import { Redis } from 'ioredis';

export interface CensusCounts {
  /** Commands sent by clients (round trips of an unpipelined client). */
  client: number;
  /** Commands run inside Lua scripts. */
  lua: number;
  /** Client-sent commands by name (upper case), for the profile. */
  byName: Record<string, number>;
  /** Script-inner commands by name. */
  luaByName: Record<string, number>;
}

const MARK = 'bw-benchmark-census-mark';

function empty(): CensusCounts {
  return { client: 0, lua: 0, byName: {}, luaByName: {} };
}

export class Census {
  private monitor: Redis | undefined;
  private current: CensusCounts = empty();
  /** Resolves the pending cut() with the window its marker closed. */
  private pending: ((counts: CensusCounts) => void)[] = [];

  constructor(
    private readonly port: number,
    private readonly control: Redis,
  ) {}

  async start(): Promise<void> {
    const base = new Redis({ host: '127.0.0.1', port: this.port, maxRetriesPerRequest: 1 });
    base.on('error', () => {});
    this.monitor = await base.monitor();
    base.disconnect();
    this.monitor.on('error', () => {});
    this.monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const name = String(args[0] ?? '').toUpperCase();
      if (name === 'ECHO' && args[1] === MARK) {
        const done = this.current;
        this.current = empty();
        this.pending.shift()?.(done);
        return;
      }
      if (source === 'lua') {
        this.current.lua++;
        this.current.luaByName[name] = (this.current.luaByName[name] ?? 0) + 1;
      } else {
        this.current.client++;
        this.current.byName[name] = (this.current.byName[name] ?? 0) + 1;
      }
    });
    await this.cut();
  }

  /**
   * End the current window: every command Redis ran before this call is in the returned counts.
   * A marker command travels through the same MONITOR stream, so no command is lost in transit.
   */
  async cut(): Promise<CensusCounts> {
    const closed = new Promise<CensusCounts>((resolve) => this.pending.push(resolve));
    await this.control.echo(MARK);
    return closed;
  }

  stop(): void {
    this.monitor?.disconnect();
    this.monitor = undefined;
  }
}
