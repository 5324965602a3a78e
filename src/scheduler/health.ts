// The scheduler's part of `bench doctor`: who holds the lease (host, pid) and the last tick, the sites
// the scheduler skips (paused, disabled, maintenance), and every site's scheduler_events problems
// (a bad cron expression names its app and what is wrong).
import type { Redis } from '../redis/client-type.js';
import { listSites, loadSiteConfig, type BenchConfig } from '../config/load.js';
import { siteEvents, type SchedulerProblem } from './events.js';
import { benchSchedulerState, type BenchSchedulerState } from './status.js';
import { inactiveReason } from './tick.js';

export interface SchedulerHealth extends BenchSchedulerState {
  inactiveSites: { site: string; status: 'paused' | 'disabled' | 'maintenance' }[];
  problems: (SchedulerProblem & { site: string })[];
}

export async function schedulerHealth(redis: Redis, bench: BenchConfig): Promise<SchedulerHealth> {
  const health: SchedulerHealth = { ...(await benchSchedulerState(redis, bench.settings.bench_id)), inactiveSites: [], problems: [] };
  for (const site of listSites(bench)) {
    let config;
    try {
      config = loadSiteConfig(bench, site);
    } catch {
      continue;
    }
    const status = inactiveReason(config);
    if (status !== undefined) health.inactiveSites.push({ site, status });
    for (const problem of (await siteEvents(bench, config)).problems) health.problems.push({ site, ...problem });
  }
  return health;
}
