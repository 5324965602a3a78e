// The `bench schedule` loop. Every lease interval (a quarter of scheduler_lease_ttl, at most 1 s) it
// renews the lease it holds, or tries to take it; only while the lease is provably held (lease.ts) does
// it tick: at once when it takes the lease (the start-up catch-up: each event whose time passed while
// no scheduler ran gets one run), then at each multiple of scheduler_tick_interval. One tick at a time:
// a tick still running at the next boundary makes that boundary wait for the following one.
import { setTimeout as sleep } from 'node:timers/promises';
import { benchKeys } from '../redis/keys.js';
import { leaseIntervalMs, SchedulerLease } from './lease.js';
import { tickAtOrBefore } from './plan.js';
import { runTick, type SchedulerEnv } from './tick.js';

export class Scheduler {
  readonly lease: SchedulerLease;
  private readonly stopping = new AbortController();
  private ticking: Promise<void> | undefined;
  private lastTick = Number.NEGATIVE_INFINITY;
  private held = false;

  constructor(private readonly env: SchedulerEnv) {
    const settings = env.bench().settings;
    this.lease = new SchedulerLease(env.redis, settings.bench_id, { ttlMs: settings.scheduler_lease_ttl * 1000 });
  }

  /** Run until stop(): keep or seek the lease, and tick while holding it. */
  async run(): Promise<void> {
    const { log } = this.env;
    log.info({ holder: this.lease.holder, tickInterval: this.env.bench().settings.scheduler_tick_interval }, 'scheduler started');
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      await this.keepLease();
      if (this.lease.held()) {
        const intervalMs = this.env.bench().settings.scheduler_tick_interval * 1000;
        const boundary = tickAtOrBefore(Date.now(), intervalMs);
        if (boundary > this.lastTick && this.ticking === undefined) this.startTick(boundary);
      }
      const wait = this.untilNextWake();
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        break;
      }
    }
    await this.ticking;
    if (this.held) {
      await this.lease.release().catch((err: unknown) => log.warn({ err }, 'scheduler lease could not be released'));
      log.info({}, 'scheduler lease released');
    }
    log.info({}, 'scheduler stopped');
  }

  stop(): void {
    this.stopping.abort();
  }

  /** Renew the lease when held, else try to take it; log each change of hands. */
  private async keepLease(): Promise<void> {
    const { log } = this.env;
    let ok: boolean;
    try {
      ok = this.held ? await this.lease.renew() : await this.lease.acquire();
    } catch (err) {
      this.lease.drop();
      ok = false;
      log.warn({ err }, 'scheduler lease could not be reached');
    }
    if (ok && !this.held) log.info({ holder: this.lease.holder }, 'scheduler lease acquired');
    if (!ok && this.held) log.warn({ holder: this.lease.holder }, 'scheduler lease lost');
    this.held = ok;
  }

  /** Milliseconds to the next lease call or tick boundary, whichever comes first. */
  private untilNextWake(): number {
    const settings = this.env.bench().settings;
    const leaseMs = leaseIntervalMs(settings.scheduler_lease_ttl * 1000);
    const intervalMs = settings.scheduler_tick_interval * 1000;
    const now = Date.now();
    const toBoundary = tickAtOrBefore(now, intervalMs) + intervalMs - now;
    return Math.max(1, Math.min(leaseMs, toBoundary));
  }

  private startTick(tickMs: number): void {
    const { log, redis } = this.env;
    this.lastTick = tickMs;
    const at = new Date(tickMs).toISOString();
    log.info({ tick: at }, 'scheduler tick started');
    const fence = () => this.lease.held();
    this.ticking = runTick(this.env, tickMs, fence)
      .then(async (result) => {
        log.info({ tick: at, ...result }, 'scheduler tick finished');
        const state = benchKeys(this.env.bench().settings.bench_id).schedulerState;
        await redis.hset(state, 'lastTick', String(tickMs), 'lastTickBy', JSON.stringify(this.lease.holder), 'lastTickEnded', String(Date.now()));
      })
      .catch((err: unknown) => log.error({ err, tick: at }, 'scheduler tick stopped'))
      .finally(() => {
        this.ticking = undefined;
      });
  }
}
