// Server-side cost of a measurement, from INFO deltas of the private redis-server: commands executed
// (INFO commandstats, those run inside Lua scripts included), CPU (used_cpu_sys + used_cpu_user of
// the server) and memory (used_memory). Client-sent commands are counted separately (census.ts).
import { Redis } from 'ioredis';

export interface InfoSnapshot {
  /** Sum of cmdstat calls: every command executed, script-inner calls included. */
  calls: number;
  cpuSeconds: number;
  usedMemory: number;
}

export interface CostDelta {
  /** Every Redis command executed, script-inner ones included. */
  calls: number;
  cpuMicros: number;
  memoryBytes: number;
}

export class RedisStats {
  readonly client: Redis;

  constructor(port: number) {
    this.client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
    this.client.on('error', () => {});
  }

  async snapshot(): Promise<InfoSnapshot> {
    const text = await this.client.info('all');
    let calls = 0;
    const fields = new Map<string, string>();
    for (const line of text.split('\r\n')) {
      const cmd = /^cmdstat_[^:]+:calls=(\d+)/.exec(line);
      if (cmd) {
        calls += Number(cmd[1]);
        continue;
      }
      const sep = line.indexOf(':');
      if (sep > 0) fields.set(line.slice(0, sep), line.slice(sep + 1));
    }
    const num = (key: string) => Number(fields.get(key) ?? 0);
    return { calls, cpuSeconds: num('used_cpu_sys') + num('used_cpu_user'), usedMemory: num('used_memory') };
  }

  /** Cost between two snapshots; the INFO call that took `after` is not counted. */
  delta(before: InfoSnapshot, after: InfoSnapshot): CostDelta {
    return {
      calls: after.calls - before.calls - 1,
      cpuMicros: (after.cpuSeconds - before.cpuSeconds) * 1e6,
      memoryBytes: after.usedMemory - before.usedMemory,
    };
  }

  /** Memory settles (lazy frees, client buffers) before it is read for a bytes-per-job figure. */
  async settledMemory(): Promise<number> {
    await this.client.memory('PURGE').catch(() => undefined);
    return (await this.snapshot()).usedMemory;
  }

  async flush(): Promise<void> {
    await this.client.flushdb();
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
