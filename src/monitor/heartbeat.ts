// The bench's worker registry, written by each supervisor for each of its worker processes, so
// monitoring (bench doctor, getWorkers) sees every one of them as a worker. Entries are refreshed every
// few seconds with a TTL, so a dead worker drops out on its own within a minute.
import os from 'node:os';
import type { Redis } from '../redis/client-type.js';
import { benchKeys, type BenchKeys } from '../redis/keys.js';

export const HEARTBEAT_INTERVAL_MS = 10_000;
export const HEARTBEAT_TTL_SECONDS = 45;

export interface WorkerState {
  name: string;
  pid: number;
  supervisorPid: number;
  queues: readonly string[];
  state: 'idle' | 'busy';
  currentJobs: readonly string[];
  successful: number;
  failed: number;
  totalWorkingMs: number;
  birth: number;
  /** Jobs it runs at once (--concurrency). */
  concurrency: number;
}

/**
 * RQ Worker's utilization_percent: time spent running jobs over the time since birth, in percent (two
 * decimals). A process running `concurrency` jobs at once is fully used when every slot is busy, so
 * its lifetime counts once per slot; at concurrency 1 this is RQ's figure.
 */
export function utilizationPercent(workingMs: number, birth: number, at: number, concurrency = 1): number {
  const capacityMs = (at - birth) * Math.max(1, concurrency);
  if (!(capacityMs > 0) || !(workingMs > 0)) return 0;
  return Math.min(100, Math.round((workingMs / capacityMs) * 10_000) / 100);
}

export class Heartbeat {
  private readonly keys: BenchKeys;

  constructor(
    private readonly redis: Redis,
    benchId: string,
  ) {
    this.keys = benchKeys(benchId);
  }

  async beat(states: readonly WorkerState[]): Promise<void> {
    const now = Date.now();
    const tx = this.redis.multi();
    for (const state of states) {
      const key = this.keys.worker(state.name);
      tx.hset(key, {
        name: state.name,
        pid: state.pid,
        supervisor_pid: state.supervisorPid,
        host: os.hostname(),
        queues: state.queues.join(','),
        state: state.state,
        current_job: state.currentJobs.join(','),
        successful_job_count: state.successful,
        failed_job_count: state.failed,
        total_working_time: Math.round(state.totalWorkingMs) / 1000,
        concurrency: state.concurrency,
        utilization_percent: utilizationPercent(state.totalWorkingMs, state.birth, now, state.concurrency),
        birth: state.birth,
        last_heartbeat: now,
      });
      tx.expire(key, HEARTBEAT_TTL_SECONDS);
      tx.zadd(this.keys.workers, now, state.name);
    }
    tx.zremrangebyscore(this.keys.workers, '-inf', now - HEARTBEAT_TTL_SECONDS * 1000);
    await tx.exec();
  }

  async remove(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.redis
      .multi()
      .del(...names.map((n) => this.keys.worker(n)))
      .zrem(this.keys.workers, ...names)
      .exec();
  }
}

