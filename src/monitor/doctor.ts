// Bench health for `bench doctor` (Frappe's frappe.utils.doctor): live workers per queue, jobs per
// queue and status, queued and running jobs per site of each queue (site-load.ts), the queues where jobs
// wait but no live worker listens, and the other bench namespaces on the same Redis whose jobs no live
// worker serves (monitor/namespaces.ts).
import type { Redis } from '../redis/client-type.js';
import type { BenchConfig } from '../config/load.js';
import { queueKeys } from '../redis/keys.js';
import { execAll } from './jobs.js';
import { orphanedNamespaces, type OrphanedNamespace } from './namespaces.js';
import { queueLoad, type SiteLoad } from './site-load.js';
import { getWorkers, type WorkerInfo } from './workers.js';
import { crossSlotPipeline } from '../redis/cross-slot.js';

export interface QueueHealth {
  queue: string;
  /** Live workers listening to this queue. */
  workers: number;
  queued: number;
  scheduled: number;
  /** Running jobs. */
  started: number;
  /** Failed and stopped jobs kept. */
  failed: number;
  /** Queued and running jobs of each site holding some on this queue, by site name. */
  bySite: Record<string, SiteLoad>;
}

export interface DoctorReport {
  workersOnline: number;
  workers: WorkerInfo[];
  /** Every queue of the bench, in priority order. */
  queues: QueueHealth[];
  /** Queues holding queued jobs that no live worker serves. */
  unserved: string[];
  /** Other namespaces of this Redis holding jobs that no live worker serves. */
  orphaned: OrphanedNamespace[];
}

export async function doctorReport(redis: Redis, bench: BenchConfig): Promise<DoctorReport> {
  const workers = await getWorkers(redis, bench.settings.bench_id);
  const pipeline = crossSlotPipeline(redis);
  for (const { name } of bench.queues) {
    const k = queueKeys(bench.settings.bench_id, name);
    pipeline.zcard(k.delayed).zcard(k.failed);
  }
  const counts = (await execAll(pipeline)).map(Number);
  const loads = await Promise.all(bench.queues.map(({ name }) => queueLoad(redis, bench.settings.bench_id, name)));
  const queues = bench.queues.map(({ name }, i): QueueHealth => ({
    queue: name,
    workers: workers.filter((w) => w.queues.includes(name)).length,
    queued: loads[i]?.queued ?? 0,
    scheduled: counts[i * 2] ?? 0,
    started: loads[i]?.started ?? 0,
    failed: counts[i * 2 + 1] ?? 0,
    bySite: loads[i]?.bySite ?? {},
  }));
  return {
    workersOnline: workers.length,
    workers,
    queues,
    unserved: queues.filter((q) => q.queued > 0 && q.workers === 0).map((q) => q.queue),
    orphaned: await orphanedNamespaces(redis, bench),
  };
}
