// The supervisor's job-running children: N processes of C slots each. Hands out the child with the
// most free slots, replaces a child that died at once, and recycles a child between jobs once it has
// run its share of jobs or grown past the memory limit (leak containment, as Frappe's max_jobs).
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { JobChild } from './job-child.js';

export interface ChildPoolOptions {
  benchPath: string;
  log: Logger;
  size: number;
  concurrency: number;
  /** Jobs a child runs before it is recycled (a random 0-50 is added per child). */
  maxJobs: number;
  /** Resident memory in bytes past which a child is recycled between jobs; 0 for no limit. */
  maxRssBytes: number;
  /** Called when a child is gone for good (its worker entry should disappear). */
  onRetired(child: JobChild, pid: number | undefined): void;
  /** Called when a child (re)started, so it shows up in monitoring at once. */
  onStarted(child: JobChild): void;
}

export class ChildPool {
  readonly children: JobChild[];
  private readonly starting = new Map<JobChild, Promise<void>>();
  private readonly jobLimits = new Map<JobChild, number>();
  /** Children being recycled right now (so concurrent job ends do not stop them twice). */
  private readonly stopping = new Set<JobChild>();
  private closed = false;

  constructor(private readonly options: ChildPoolOptions) {
    this.children = Array.from(
      { length: options.size },
      (_, i) => new JobChild(options.benchPath, options.log, `child-${i + 1}`, options.concurrency),
    );
  }

  async start(): Promise<void> {
    await Promise.all(this.children.map((child) => this.launch(child)));
  }

  get freeSlots(): number {
    return this.children.reduce((sum, child) => sum + child.freeSlots, 0);
  }

  get runningJobs(): number {
    return this.children.reduce((sum, child) => sum + child.runningJobs, 0);
  }

  /** The child with the most free slots, if any. */
  pick(): JobChild | undefined {
    let best: JobChild | undefined;
    for (const child of this.children) {
      if (child.freeSlots > 0 && (!best || child.freeSlots > best.freeSlots)) best = child;
    }
    return best;
  }

  /**
   * After a job ended on `child`: replace it if it died, retire it if it reached its limits.
   * Resolves when the child is usable again (or replaced).
   */
  async afterJob(child: JobChild): Promise<void> {
    if (this.closed) return;
    if (!child.alive) return this.replace(child, 'exited');
    this.retireIfDue(child);
    if (child.retiring && !this.stopping.has(child)) {
      if (child.runningJobs === 0) {
        this.stopping.add(child);
        this.options.log.info({ child: child.label, pid: child.pid, jobsRun: child.jobsRun, rss: child.rss }, 'recycling job child');
        const pid = child.pid;
        try {
          await child.stop();
        } finally {
          this.stopping.delete(child);
        }
        this.options.onRetired(child, pid);
        return this.replace(child, 'recycled');
      }
    }
  }

  /**
   * Mark `child` retiring once it reached its job count or memory limit, so it gets no more jobs.
   * Called as soon as a job's outcome arrives, before its slot is offered to the next claim.
   */
  retireIfDue(child: JobChild): void {
    const jobLimit = this.jobLimits.get(child) ?? this.options.maxJobs;
    const overMemory = this.options.maxRssBytes > 0 && child.rss > this.options.maxRssBytes;
    if (child.jobsRun >= jobLimit || overMemory) child.retiring = true;
  }

  /** Replace every child gracefully: idle ones now, busy ones once their jobs are done. */
  async recycleAll(): Promise<void> {
    for (const child of this.children) child.retiring = true;
    await Promise.all(this.children.filter((child) => child.runningJobs === 0 && child.alive).map((child) => this.afterJob(child)));
  }

  /** Make sure every child is alive (used by the main loop before claiming). */
  async ensureAlive(): Promise<void> {
    await Promise.all(this.children.filter((c) => !c.alive).map((c) => this.replace(c, 'exited')));
  }

  /** Warm: let children finish and exit. */
  async stop(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.starting.values()]);
    await Promise.all(this.children.map((child) => child.stop()));
  }

  /** Cold: SIGKILL every child. */
  async kill(): Promise<void> {
    this.closed = true;
    await Promise.all(this.children.map((child) => child.kill()));
  }

  private replace(child: JobChild, why: string): Promise<void> {
    if (this.closed || child.alive) return this.starting.get(child) ?? Promise.resolve();
    const pid = child.pid;
    if (why === 'exited') {
      this.options.log.warn({ child: child.label, pid }, 'job child died; starting a new one');
      this.options.onRetired(child, pid);
    }
    return this.launch(child);
  }

  private launch(child: JobChild): Promise<void> {
    const existing = this.starting.get(child);
    if (existing) return existing;
    const started = (async () => {
      for (let attempt = 1; !this.closed; attempt++) {
        try {
          await child.start();
          this.jobLimits.set(child, this.options.maxJobs + Math.floor(Math.random() * 51));
          this.options.onStarted(child);
          return;
        } catch (err) {
          this.options.log.error({ err, child: child.label, attempt }, 'job child failed to start; retrying');
          await delay(Math.min(1000 * attempt, 10_000));
        }
      }
    })().finally(() => this.starting.delete(child));
    this.starting.set(child, started);
    return started;
  }
}
