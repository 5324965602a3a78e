// Reads the bench's worker registry (written by heartbeat.ts): one entry per worker process,
// parsed into typed records. Read-only: entries of dead workers expire on their own.
import type { Redis } from '../redis/client-type.js';
import { benchKeys } from '../redis/keys.js';
import { utilizationPercent } from './heartbeat.js';

/** One live worker (a worker process of a `bench worker` supervisor), as Frappe's RQ Worker. */
export interface WorkerInfo {
  /** `host.pid.tag` of the worker process (the tag tells apart processes that reuse a pid). */
  name: string;
  pid: number;
  supervisorPid: number;
  host: string;
  /** Queues it listens to, in priority order. */
  queues: string[];
  state: 'idle' | 'busy';
  /** Ids of the jobs it is running. */
  currentJobs: string[];
  successfulJobCount: number;
  failedJobCount: number;
  /** Seconds spent running jobs. */
  totalWorkingTime: number;
  /** Jobs it runs at once. */
  concurrency: number;
  /**
   * RQ Worker's utilization_percent: time spent running jobs over its time alive (times its concurrency),
   * as of its last heartbeat; 0-100.
   */
  utilizationPercent: number;
  /** Epoch ms it started. */
  birth: number;
  /** Epoch ms of its last heartbeat. */
  lastHeartbeat: number;
}

/** Parse one registry hash (fields as written by Heartbeat.beat). */
export function workerFromHash(hash: Record<string, string>): WorkerInfo {
  const totalWorkingTime = Number(hash['total_working_time'] ?? 0);
  const concurrency = Number(hash['concurrency'] ?? 1) || 1;
  const birth = Number(hash['birth'] ?? 0);
  const lastHeartbeat = Number(hash['last_heartbeat'] ?? 0);
  const stored = hash['utilization_percent'];
  return {
    name: hash['name'] ?? '',
    pid: Number(hash['pid'] ?? 0),
    supervisorPid: Number(hash['supervisor_pid'] ?? 0),
    host: hash['host'] ?? '',
    queues: splitList(hash['queues']),
    state: hash['state'] === 'busy' ? 'busy' : 'idle',
    currentJobs: splitList(hash['current_job']),
    successfulJobCount: Number(hash['successful_job_count'] ?? 0),
    failedJobCount: Number(hash['failed_job_count'] ?? 0),
    totalWorkingTime,
    concurrency,
    utilizationPercent: stored === undefined ? utilizationPercent(totalWorkingTime * 1000, birth, lastHeartbeat, concurrency) : Number(stored),
    birth,
    lastHeartbeat,
  };
}

/**
 * The live workers of the bench (Frappe's get_workers), sorted by name; only those listening to
 * `queue` when it is given. Entries whose heartbeat hash has expired are left out.
 */
export async function getWorkers(redis: Redis, benchId: string, queue?: string): Promise<WorkerInfo[]> {
  const keys = benchKeys(benchId);
  const names = await redis.zrange(keys.workers, '0', '-1');
  if (names.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.hgetall(keys.worker(name));
  const replies = (await pipeline.exec()) ?? [];
  const workers: WorkerInfo[] = [];
  for (const [err, hash] of replies) {
    if (err) throw err;
    const fields = hash as Record<string, string> | null;
    if (fields && Object.keys(fields).length > 0) workers.push(workerFromHash(fields));
  }
  return workers.filter((w) => queue === undefined || w.queues.includes(queue)).sort((a, b) => a.name.localeCompare(b.name));
}

function splitList(text: string | undefined): string[] {
  return text ? text.split(',').filter(Boolean) : [];
}
