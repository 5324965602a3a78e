// BenchClient, the façade of bench-worker for app code and the CLI: enqueue (the producer, queue/),
// run a job inline (jobs/run-now), job lookups and actions (monitor/), waiting for a job, site
// databases (db/) and realtime messages. It holds the bench's config cache and one Redis connection;
// the work itself lives in those modules.
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from './redis/client-type.js';
import { pino } from 'pino';
import { findBenchPath, getQueueSpec, listSites, loadBenchConfig, loadSiteConfig, type BenchConfig, type SiteConfig } from './config/load.js';
import { BenchError } from './errors.js';
import type { Logger } from './log/logger.js';
import { closeRedis, createRedis } from './redis/connection.js';
import { ensureBenchId } from './redis/bench-id.js';
import { benchKeys } from './redis/keys.js';
import { publishControl } from './redis/control.js';
import { checkEnqueueRequest, checkPayloadSizes, prepareEnqueue, preparePayloads, requireSite } from './queue/enqueue.js';
import type { EnqueueManyOptions, EnqueueOptions, JobMethod, KwargsOf, JobRecord, JobStatus } from './vocabulary.js';
import { findJob, fullJobId } from './queue/inspect.js';
import { checkJobId } from './queue/job-id.js';
import { checkRange, STOP_WAIT_MS_RANGE } from './util/limits.js';
import { JobWaiter, type WaitForJobOptions } from './queue/job-waiter.js';
import { ProducerCache } from './queue/producer-cache.js';
import { writeJobs } from './queue/write-jobs.js';
import { runNow } from './jobs/run-now.js';
import { generatedJobId, jobFromEnqueue } from './redis/job-record.js';
import { closeSiteDbsOf, siteDbCacheOf, SiteDbCache, type SiteDatabase } from './db/site-db.js';
import { docMethodPath, ENQUEUE_DOC_TIMEOUT } from './jobs/doc-method.js';
import { publishEnvelope, realtimeEnvelope, type RealtimeOptions } from './realtime/realtime.js';
import { cancelJob, deleteJob, purgeEverySite, purgeJobs, requeueFailed, retryJob, type JobActionOptions, type JobFilter } from './monitor/actions.js';
import { getJobs, listJobs, type JobPage, type ListJobsOptions } from './monitor/jobs.js';
import { getWorkers, type WorkerInfo } from './monitor/workers.js';
import { isQueuePaused, pauseQueue, resumeQueue, type PauseChange } from './monitor/pause.js';
import type { SchedulerEnv } from './scheduler/tick.js';
import { schedulerStatus, setScheduler, triggerSchedulerEvent, type SchedulerAction, type SchedulerStatus, type TriggerResult } from './scheduler/status.js';

export type { EnqueueManyOptions, EnqueueOptions, JobMethod, KwargsOf } from './vocabulary.js';
export type { WaitForJobOptions } from './queue/job-waiter.js';

/** Site count is cached this long for the max_queued_jobs limit (as Frappe's site_cache). */
const SITE_COUNT_TTL_MS = 10 * 60 * 1000;

export interface BenchClientOptions {
  benchPath?: string;
  log?: Logger;
  /**
   * Check at enqueue time that the method's module exports that function (default true), so that a typo
   * is refused at once (ERR_JOB_LOAD) instead of failing the job later. It imports the module into this
   * process once (again after its file changed); false only checks that the module file exists.
   */
  verifyMethod?: boolean;
}

export class BenchClient {
  private readonly options: BenchClientOptions;
  private readonly cache: ProducerCache;
  private readonly waiter: JobWaiter;
  private connecting: Promise<Redis> | undefined;
  /** What `connecting` resolved to, for connection() to see synchronously that it ended. */
  private connected: Redis | undefined;

  private constructor(bench: BenchConfig, options: BenchClientOptions) {
    this.cache = new ProducerCache(bench);
    this.options = options;
    this.waiter = new JobWaiter(
      // After connection(): the channel is named by the bench id it may save.
      async () => {
        await this.connection();
        return createRedis(this.bench.settings, { role: 'blocking', log: this.options.log });
      },
      async (id) => findJob(await this.connection(), this.bench, id),
      () => benchKeys(this.bench.settings.bench_id).events,
    );
  }

  /**
   * The bench's config as of now: an edit to common_site_config.json is seen within a second
   * (the Redis connection keeps the settings it was made with).
   */
  get bench(): BenchConfig {
    return this.cache.bench();
  }

  /** The config of `site` (ERR_SITE_NOT_FOUND naming the bench's sites when it has none), from the cache. */
  siteConfig(site: string | undefined): SiteConfig {
    return this.cache.site(requireSite(this.bench, site));
  }

  /**
   * Load the bench's config and connect to its redis_queue. With `lazyConnect`, the connection is
   * made by the first call that needs it, after that call's input has been validated.
   */
  static async open(options: BenchClientOptions & { lazyConnect?: boolean } = {}): Promise<BenchClient> {
    const bench = loadBenchConfig(findBenchPath(options.benchPath ?? process.env['BENCH_PATH']));
    const client = new BenchClient(bench, options);
    if (!options.lazyConnect) await client.connection();
    return client;
  }

  /**
   * The Redis connection, made on first use. A bench without a saved bench_id gets one first (see
   * redis/bench-id.ts): every call that reads or writes the bench's keys goes through here.
   */
  connection(): Promise<Redis> {
    // A producer connection gives up reconnecting after a few attempts (about 1 s): once it has, the
    // next call makes a new one (ERR_REDIS_UNAVAILABLE while Redis is still down), shared by the calls
    // made meanwhile, and the old one is closed for good.
    const ended = this.connected;
    if (ended?.status === 'end') {
      this.connected = undefined;
      this.connecting = undefined;
      // It is closed already; this also ends its Sentinel failover detector's connections, if any.
      ended.disconnect();
    }
    this.connecting ??= createRedis(this.bench.settings, { role: 'producer', log: this.options.log })
      .then(async (redis) => {
        if (this.bench.benchIdSaved) return redis;
        try {
          await ensureBenchId(redis, this.bench, this.options.log);
        } catch (err) {
          redis.disconnect();
          throw err;
        }
        this.cache.reloadBench();
        return redis;
      })
      .then((redis) => (this.connected = redis))
      .catch((err: unknown) => {
        this.connecting = undefined;
        throw err;
      });
    return this.connecting;
  }

  /**
   * Enqueue one job; resolves to its site-namespaced id once Redis has accepted it. With
   * `deduplicate`, resolves to undefined (and writes nothing) when a job with that `jobId` is
   * already queued, scheduled or running.
   */
  async enqueue<M extends JobMethod>(method: M, options: EnqueueOptions<KwargsOf<M>> & ({ now: true } | { isAsync: false })): Promise<unknown>;
  async enqueue<M extends JobMethod>(method: M, options: EnqueueOptions<KwargsOf<M>> & { deduplicate: true }): Promise<string | undefined>;
  async enqueue<M extends JobMethod>(method: M, options: EnqueueOptions<KwargsOf<M>>): Promise<string>;
  async enqueue(method: JobMethod, options: EnqueueOptions<object>): Promise<unknown> {
    // The kwargs' static type came from the method; what they hold is checked as JSON below.
    const untyped = options as EnqueueOptions;
    if (untyped.jobId !== undefined) checkJobId(untyped.jobId, 'ERR_ENQUEUE_INVALID', 'jobId');
    if (untyped.now || untyped.isAsync === false) return this.runNow(method, untyped);
    if (untyped.deduplicate && untyped.jobId === undefined) {
      throw new BenchError('ERR_ENQUEUE_INVALID', '`jobId` is required for deduplication');
    }
    const [id] = await this.enqueueBatch(method, [untyped.kwargs], untyped, untyped.jobId === undefined ? undefined : [untyped.jobId], Boolean(untyped.deduplicate));
    if (id === undefined) this.options.log?.info({ jobId: untyped.jobId, site: untyped.site }, 'job not enqueued: a job with this id is already queued or running');
    return id;
  }

  /**
   * Enqueue one job per kwargs object; resolves to their ids, in list order. Every entry is validated
   * before anything is written; a bad one is reported by its 1-based position (or as `describeEntry`
   * says) and nothing is enqueued. The whole request must fit under max_queued_jobs.
   *
   * A list written in several calls (over 1,000 jobs or 1 MiB) that Redis stops part way (out of
   * memory, connection lost) rejects with ERR_ENQUEUE_INCOMPLETE: `details.enqueued` jobs were written,
   * always the list's first ones (its last ones with atFront), and `details.resumeToken` resumes it. Call again with the same list and
   * `resume: token` to write exactly the rest; that call resolves to the ids of the jobs it wrote.
   */
  async enqueueMany<M extends JobMethod>(method: M, kwargsList: readonly KwargsOf<M>[], options: EnqueueManyOptions): Promise<string[]> {
    const ids = await this.enqueueBatch(method, kwargsList as readonly Record<string, unknown>[], options, undefined, false);
    return ids.filter((id): id is string => id !== undefined);
  }

  /**
   * enqueueMany for kwargs that are already JSON text, each a JSON object (the lines of `bench enqueue
   * --kwargs-file`, checked as they were read): stored as given, after the size check, instead of being
   * parsed and serialised again. Same validation of everything else, same results and errors.
   */
  async enqueueManyJson(method: JobMethod, kwargsJson: readonly string[], options: EnqueueManyOptions): Promise<string[]> {
    const ids = await this.enqueueBatch(method, kwargsJson, options, undefined, false);
    return ids.filter((id): id is string => id !== undefined);
  }

  /** Enqueue a job to run `seconds` from now. */
  async enqueueIn<M extends JobMethod>(seconds: number, method: M, options: EnqueueOptions<KwargsOf<M>>): Promise<string> {
    return this.enqueue(method, { ...options, inSeconds: seconds });
  }

  /** Enqueue a job to run at `at`. */
  async enqueueAt<M extends JobMethod>(at: Date, method: M, options: EnqueueOptions<KwargsOf<M>>): Promise<string> {
    return this.enqueue(method, { ...options, at });
  }

  /** True when the site's job `jobId` is queued, scheduled or running (Frappe's is_job_enqueued). */
  async isJobEnqueued(site: string, jobId: string): Promise<boolean> {
    const status = await this.getJobStatus(site, jobId);
    return status === 'queued' || status === 'started' || status === 'scheduled';
  }

  /** The status of the site's job `jobId`, or undefined when there is no such job. */
  async getJobStatus(site: string, jobId: string): Promise<JobStatus | undefined> {
    return (await this.getJob(site, jobId))?.status;
  }

  /** The job `jobId` of `site` (its own id or the full `site||id`), or undefined. */
  async getJob(site: string, jobId: string): Promise<JobRecord | undefined> {
    return findJob(await this.connection(), this.bench, fullJobId(site, jobId));
  }

  /**
   * Wait for the site's job `jobId` (its own id or the full `site||id`) to end: resolves with its result
   * once it finished; rejects with ERR_JOB_FAILED (details: status and the job's error) once it failed,
   * was stopped or canceled, ERR_JOB_NOT_FOUND when it does not exist (or its record expired), and
   * ERR_WAIT_TIMEOUT after `timeout` seconds. A failed attempt that its retry policy schedules again is
   * waited through. Driven by the job events; a job deleted while waited for ends the wait at its timeout.
   */
  async waitForJob(site: string, jobId: string, options: WaitForJobOptions = {}): Promise<unknown> {
    return this.waiter.wait(fullJobId(site, jobId), options);
  }

  /**
   * Stop a running job: the worker running it kills its child and the job ends as `stopped`.
   * Resolves with the stopped job once a worker has done so (waits up to `timeoutMs`).
   */
  async stopJob(site: string, jobId: string, timeoutMs = 10_000): Promise<JobRecord> {
    checkRange(timeoutMs, 'stopJob: timeoutMs', STOP_WAIT_MS_RANGE, 'ERR_USAGE');
    const id = fullJobId(site, jobId);
    const redis = await this.connection();
    const job = await findJob(redis, this.bench, id);
    if (!job) throw new BenchError('ERR_JOB_NOT_FOUND', `job "${id}" not found`, { details: { jobId: id } });
    if (job.status !== 'started') {
      throw new BenchError('ERR_JOB_NOT_RUNNING', `job "${id}" is not running (status: ${job.status}); only a running job can be stopped`, {
        details: { jobId: id, status: job.status },
      });
    }
    await publishControl(redis, this.bench.settings.bench_id, { command: 'stop-job', jobId: id, queue: job.queue });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await findJob(redis, this.bench, id);
      if (now && now.status !== 'started') return now;
      if (Date.now() > deadline) {
        throw new BenchError('ERR_JOB_NOT_RUNNING', `no worker stopped job "${id}" within ${timeoutMs} ms (is its worker alive?)`, { details: { jobId: id } });
      }
      await delay(50);
    }
  }

  async close(): Promise<void> {
    await this.waiter.close();
    await closeSiteDbsOf(this);
    const connecting = this.connecting;
    this.connecting = undefined;
    if (!connecting) return;
    const redis = await connecting.catch(() => undefined);
    if (redis) await closeRedis(redis);
  }

  /** `kwargsList`: objects to check and serialise, or JSON text already checked (enqueueManyJson). */
  private async enqueueBatch(
    method: JobMethod,
    kwargsList: readonly (Record<string, unknown> | undefined)[] | readonly string[],
    options: EnqueueManyOptions,
    userIds: readonly string[] | undefined,
    deduplicate: boolean,
  ): Promise<(string | undefined)[]> {
    const bench = this.bench;
    const site = this.siteConfig(options.site);
    const prepared = await prepareEnqueue(bench, site, method, options, this.options.verifyMethod ?? true, this.check);
    const describeEntry = options.describeEntry ?? ((index: number) => `entry ${index + 1}`);
    const payloads = isTextList(kwargsList) ? checkPayloadSizes(kwargsList, prepared, describeEntry) : preparePayloads(kwargsList, prepared, describeEntry);
    // this.bench after the connection: the first one may have saved the bench id.
    return writeJobs(await this.connection(), this.bench, prepared.fields, payloads, {
      atFront: Boolean(options.atFront),
      atFrontWhenStarved: Boolean(options.atFrontWhenStarved),
      maxQueued: site.settings.max_queued_jobs + 50 * this.siteCount(),
      maxQueuedPerSite: site.settings.max_queued_jobs_per_site ?? 0,
      deduplicate,
      userIds,
      resume: options.resume,
      describeEntry,
      delayMs: prepared.delayMs,
    });
  }

  /** now / isAsync: false - run inline, no Redis; resolves to the method's result. */
  private async runNow(method: JobMethod, options: EnqueueOptions): Promise<unknown> {
    const site = this.siteConfig(options.site);
    const prepared = await prepareEnqueue(this.bench, site, method, options, true, this.check);
    const [kwargsJson] = preparePayloads([options.kwargs], prepared);
    const { fields } = prepared;
    const job = jobFromEnqueue(`${fields.site}||${options.jobId ?? `now-${generatedJobId()}`}`, fields, kwargsJson as string);
    const bench = this.bench;
    return runNow(job, {
      bench,
      log: this.options.log ?? pino({ level: 'silent' }),
      siteConfig: (jobSite) => loadSiteConfig(bench, jobSite),
      enqueue: (jobSite) => (m, o = {}) => this.enqueue(m, { ...o, site: o.site ?? jobSite }),
      checkEnqueue: (m, o, installedApps) => checkEnqueueRequest(bench, m, o, installedApps),
    });
  }

  private readonly check = (site: SiteConfig, method: string, verify: boolean): Promise<void> | undefined => {
    if (verify) return this.cache.verify(site, method);
    this.cache.method(site, method);
    return undefined;
  };

  private siteCountCache: { count: number; at: number } | undefined;

  private siteCount(): number {
    if (!this.siteCountCache || Date.now() - this.siteCountCache.at > SITE_COUNT_TTL_MS) {
      this.siteCountCache = { count: listSites(this.bench).length, at: Date.now() };
    }
    return this.siteCountCache.count;
  }

  // Monitoring: Frappe's get_jobs / get_workers and the RQ Job actions. Thin delegates; the logic
  // lives in src/monitor/.

  /** Queued and running jobs grouped by site (Frappe's get_jobs); only `site`'s, or `queue`'s, when given. */
  async getJobs(site?: string, queue?: string): Promise<Record<string, JobRecord[]>> {
    return getJobs(await this.connection(), this.bench, site, queue);
  }

  /** The live workers of the bench (Frappe's get_workers); only those listening to `queue` when given. */
  async getWorkers(queue?: string): Promise<WorkerInfo[]> {
    return getWorkers(await this.connection(), this.bench.settings.bench_id, queue);
  }

  /** One page of the jobs with a status (newest first for finished/failed/stopped), of a site and queue. */
  async listJobs(options: ListJobsOptions): Promise<JobPage> {
    return listJobs(await this.connection(), this.bench, options);
  }

  /** Put a failed or stopped job back on its queue (status queued); other statuses: ERR_JOB_STATE. */
  async retryJob(site: string | undefined, jobId: string, options?: JobActionOptions): Promise<JobRecord> {
    return retryJob(await this.monitorContext(), site, jobId, options);
  }

  /** Delete a job that is not running; resolves to its record as it was. A running job: ERR_JOB_STATE. */
  async deleteJob(site: string | undefined, jobId: string, options?: JobActionOptions): Promise<JobRecord> {
    return deleteJob(await this.monitorContext(), site, jobId, options);
  }

  /** Cancel a queued or scheduled job (kept as canceled for its failure TTL). Other statuses: ERR_JOB_STATE. */
  async cancelJob(site: string | undefined, jobId: string, options?: JobActionOptions): Promise<JobRecord> {
    return cancelJob(await this.monitorContext(), site, jobId, options);
  }

  /** Requeue every failed job (of a site, of a queue); resolves to the number requeued. */
  async requeueFailed(filter?: JobFilter): Promise<number> {
    return requeueFailed(await this.monitorContext(), filter);
  }

  /** Delete the queued jobs of `site` (of one queue; with a given `event`); resolves to the number deleted. */
  async purgeJobs(site: string, filter?: { queue?: string; event?: string }): Promise<number> {
    return purgeJobs(await this.monitorContext(), site, filter);
  }

  /** Delete the queued jobs of every site (of one queue; with one event): Frappe's purge-jobs without --site. */
  async purgeEverySite(filter?: { queue?: string; event?: string }): Promise<number> {
    return purgeEverySite(await this.monitorContext(), filter);
  }

  /**
   * Stop workers claiming from `queue` (enqueues, running jobs and due scheduled jobs go on); logged
   * with `by`, who asked. An unknown queue: ERR_QUEUE_UNKNOWN.
   */
  async pauseQueue(queue: string, by?: string): Promise<PauseChange> {
    getQueueSpec(this.bench, queue);
    return pauseQueue(await this.monitorContext(), queue, by);
  }

  /** Let workers claim from `queue` again (a worker blocked on it wakes at once); logged with `by`. */
  async resumeQueue(queue: string, by?: string): Promise<PauseChange> {
    getQueueSpec(this.bench, queue);
    return resumeQueue(await this.monitorContext(), queue, by);
  }

  /** Whether workers are kept from claiming from `queue` (pauseQueue). An unknown queue: ERR_QUEUE_UNKNOWN. */
  async isQueuePaused(queue: string): Promise<boolean> {
    getQueueSpec(this.bench, queue);
    return isQueuePaused(await this.connection(), this.bench.settings.bench_id, queue);
  }

  private async monitorContext(): Promise<{ redis: Redis; bench: BenchConfig; log: Logger | undefined }> {
    return { redis: await this.connection(), bench: this.bench, log: this.options.log };
  }

  /**
   * Frappe's enqueue_doc: run `method` of the DocType's controller (apps/<app>/<app>/doctype/<doctype>/<doctype>.ts)
   * on document `name`, loaded from the site database (table `tab<DocType>`). Job name: "<DocType>.<method>".
   * Timeout: 300 s unless `timeout` is given, whatever the queue's default, as Frappe's enqueue_doc.
   */
  async enqueueDoc(doctype: string, name: string, method: string, options: EnqueueOptions): Promise<string> {
    const site = this.siteConfig(options.site);
    const path = docMethodPath(this.bench.appsDir, site.installedApps, doctype, name, method);
    return this.enqueue(path, { jobName: `${doctype}.${method}`, ...options, timeout: options.timeout ?? ENQUEUE_DOC_TIMEOUT, doc: { doctype, name } });
  }

  /**
   * The database of `site` (its SQLite file, or PostgreSQL per db_type / db_url), opened on first
   * use and closed by close(). `db.transaction(async (tx) => …)` commits or rolls back; inside it,
   * tx.enqueueAfterCommit() and tx.publishRealtime(…, { afterCommit: true }) wait for the commit.
   */
  siteDb(site: string): SiteDatabase {
    const config = this.siteConfig(site);
    const log = this.options.log ?? pino({ level: 'silent' });
    const cache = siteDbCacheOf(this, () => new SiteDbCache(this.bench, {
      bench: this.bench,
      log,
      enqueue: {
        check: (method, options, installedApps) => checkEnqueueRequest(this.bench, method, options, installedApps),
        enqueue: (method, options) => this.enqueue(method, options),
      },
      publish: async (envelope) => {
        try {
          await publishEnvelope(await this.connection(), this.bench.settings.realtime_channel, envelope);
        } catch (err) {
          log.warn({ err, event: envelope.event, room: envelope.room }, 'realtime message could not be published');
        }
      },
    }));
    return cache.get(config);
  }

  /**
   * What the scheduler (src/scheduler/) works with, on this client's connection, config cache and site
   * databases: used by `bench schedule` and triggerSchedulerEvent.
   * @internal
   */
  async schedulerEnv(): Promise<SchedulerEnv> {
    const redis = await this.connection();
    return {
      redis,
      log: this.options.log ?? pino({ level: 'silent' }),
      bench: () => this.bench,
      siteConfig: (site) => this.siteConfig(site),
      siteDb: (site) => this.siteDb(site),
      enqueue: (method, options) => this.enqueue(method, { ...options, deduplicate: true }),
      name: `${hostname()}:${process.pid}`,
    };
  }

  /**
   * The scheduler as seen from `site`: enabled, paused, disabled or under maintenance, the bench's
   * scheduler holder and last tick, and every scheduled method of the site with its last and next run.
   */
  async schedulerStatus(site: string): Promise<SchedulerStatus> {
    const config = this.siteConfig(site);
    return schedulerStatus(await this.connection(), this.bench, config, this.siteDb(site));
  }

  /**
   * Frappe's `bench scheduler enable|disable|pause|resume`: writes disable_scheduler (enable, disable) or
   * pause_scheduler (pause, resume) in the site's site_config.json, 1 or 0 as Frappe does.
   */
  setScheduler(site: string, action: SchedulerAction): void {
    setScheduler(this.bench, this.siteConfig(site), action);
  }

  /**
   * Enqueue now every method of scheduler event `event` ("hourly", "daily_long", "cron", or a cron
   * expression of the site's hooks) on `site`, as the scheduler would (a log row each), without moving
   * their schedule. A method whose previous run is still queued or running is skipped.
   */
  async triggerSchedulerEvent(site: string, event: string): Promise<TriggerResult> {
    this.siteConfig(site);
    return triggerSchedulerEvent(await this.schedulerEnv(), site, event);
  }

  /**
   * Frappe's publish_realtime from app code: {"event", "message", "room", "namespace": site} on the
   * Redis channel realtime_channel (`events`). Resolves to the number of subscribers that received it.
   */
  async publishRealtime(event: string, message: unknown, options: RealtimeOptions & { site: string }): Promise<number> {
    const site = this.siteConfig(options.site).site;
    return publishEnvelope(await this.connection(), this.bench.settings.realtime_channel, realtimeEnvelope(site, event, message, options));
  }

}

function isTextList(list: readonly (Record<string, unknown> | undefined)[] | readonly string[]): list is readonly string[] {
  return typeof list[0] === 'string';
}
