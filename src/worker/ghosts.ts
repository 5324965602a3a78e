// Jobs a worker process owns in Redis but no longer holds ("ghosts"), released after a reconnect.
// A Redis failover can lose acknowledged writes: a job's end that the old master acknowledged but had not
// replicated is gone from the new one, where the job still runs under this process's name. This process
// forgot it (it saw the end recorded), and its liveness stamp keeps the reaper away: the job would stay in
// flight for as long as the process lives. So after every reconnect the process compares what Redis says
// it runs (ownedJobs-1.lua) with what it holds (running, prefetched, ended but not yet recorded, and claims
// in flight), and hands every other job back, blamelessly, fenced by its token: it runs again. That is the
// at-least-once case docs/production.md names for failover.
import type { Logger } from '../log/logger.js';
import type { Fetcher } from './fetcher.js';

export interface GhostSweep {
  fetcher: Pick<Fetcher, 'ownedJobs' | 'release'>;
  queues: readonly string[];
  /** True while the process holds the job of this claim token (or its claim is in flight). */
  holds(token: string): boolean;
  maxStalls: number;
  log: Logger;
}

/** Release this process's ghost jobs of every queue; resolves to how many were handed back. */
export async function releaseGhosts(sweep: GhostSweep): Promise<number> {
  let released = 0;
  for (const queue of sweep.queues) {
    const owned = await sweep.fetcher.ownedJobs(queue);
    // Decided after the read: a job ended and recorded meanwhile is gone from Redis' active set, and its
    // release below is refused by the fence (LEASE_LOST), harmlessly.
    const ghosts = owned.filter((job) => !sweep.holds(job.token));
    if (ghosts.length === 0) continue;
    const codes = await sweep.fetcher.release(queue, ghosts, 'blameless', sweep.maxStalls, 'its end was lost in a Redis failover');
    const handedBack = codes.filter((code) => code > 0).length;
    released += handedBack;
    sweep.log.warn({ queue, count: handedBack, jobs: ghosts.map((g) => g.id) }, 'jobs whose recorded end Redis lost (failover) handed back to run again');
  }
  return released;
}
