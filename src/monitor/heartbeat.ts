// A worker's entry in the bench's worker registry, so monitoring (bench doctor, getWorkers) can see
// it: refreshed every few seconds with a TTL, so a dead worker drops out on its own.
import os from 'node:os';
import type { Redis } from 'ioredis';
import { benchKeys } from '../redis/keys.js';

export const HEARTBEAT_INTERVAL_MS = 10_000;
export const HEARTBEAT_TTL_SECONDS = 60;

export interface WorkerState {
  name: string;
  queues: readonly string[];
  state: 'idle' | 'busy';
  currentJobs: readonly string[];
  successful: number;
  failed: number;
  totalWorkingMs: number;
  birth: number;
}

export class Heartbeat {
  private readonly keys;

  constructor(
    private readonly redis: Redis,
    benchId: string,
  ) {
    this.keys = benchKeys(benchId);
  }

  async beat(state: WorkerState): Promise<void> {
    const key = this.keys.worker(state.name);
    const now = Date.now();
    await this.redis
      .multi()
      .hset(key, {
        name: state.name,
        pid: process.pid,
        host: os.hostname(),
        queues: state.queues.join(','),
        state: state.state,
        current_job: state.currentJobs.join(','),
        successful_job_count: state.successful,
        failed_job_count: state.failed,
        total_working_time: Math.round(state.totalWorkingMs / 1000),
        birth: state.birth,
        last_heartbeat: now,
      })
      .expire(key, HEARTBEAT_TTL_SECONDS)
      .zadd(this.keys.workers, now, state.name)
      .zremrangebyscore(this.keys.workers, '-inf', now - HEARTBEAT_TTL_SECONDS * 1000)
      .exec();
  }

  async remove(name: string): Promise<void> {
    await this.redis.multi().del(this.keys.worker(name)).zrem(this.keys.workers, name).exec();
  }
}
