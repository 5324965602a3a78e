// The producer side: enqueue() and enqueueMany() for app code and the CLI. Validates everything
// (site, queue, method, kwargs, size) before a single write, then hands each batch of jobs to the
// atomic enqueue script.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { findBenchPath, getQueueSpec, listSites, loadBenchConfig, loadSiteConfig, type BenchConfig, type SiteConfig } from '../config/load.js';
import { BenchError } from '../errors.js';
import { methodPathOf } from '../jobs/function-path.js';
import { loadMethod, resolveMethodFile } from '../jobs/loader.js';
import type { Logger } from '../log/logger.js';
import { createRedis } from '../redis/connection.js';
import { queueKeys } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';
import { publishControl } from '../redis/control.js';
import { findJob, fullJobId } from './inspect.js';
import { enqueueFieldPairs, namespacedJobId, type EnqueueFields, type JobRecord } from './job.js';
import { checkPayloadSize, kwargsToJson } from './payload.js';

/** A dotted path ("myapp.tasks.process_data") or a function exported by an app module. */
export type JobMethod = string | ((...args: never[]) => unknown);

export interface EnqueueOptions {
  /** Site the job runs for (required). */
  site: string;
  /** short | default | long | a custom queue from `workers`. Default: "default". */
  queue?: string;
  /** Seconds; default: the queue's timeout. */
  timeout?: number;
  /** Your id for the job; stored site-namespaced as `site||jobId`. Default: a random UUID. */
  jobId?: string;
  /** Display name (Frappe's job_name). Default: the method path. */
  jobName?: string;
  /** Put the job at the front of its queue. */
  atFront?: boolean;
  /** User the job runs as (ctx.user). */
  user?: string;
  /** Arguments passed to the method: a JSON object. */
  kwargs?: Record<string, unknown>;
}

export type EnqueueManyOptions = Omit<EnqueueOptions, 'kwargs' | 'jobId'>;

export interface BenchClientOptions {
  benchPath?: string;
  log?: Logger;
  /** Import the method's module at enqueue time to check the export exists (the CLI does). */
  verifyMethod?: boolean;
}

const BATCH_SIZE = 500;
const MAX_BATCHES_IN_FLIGHT = 8;

export class BenchClient {
  readonly bench: BenchConfig;
  private readonly options: BenchClientOptions;
  private connecting: Promise<Redis> | undefined;

  private constructor(bench: BenchConfig, options: BenchClientOptions) {
    this.bench = bench;
    this.options = options;
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

  /** The Redis connection, made on first use. */
  connection(): Promise<Redis> {
    this.connecting ??= createRedis(this.bench.settings, { role: 'producer', log: this.options.log }).catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /** Enqueue one job; resolves to its site-namespaced id once Redis has accepted it. */
  async enqueue(method: JobMethod, options: EnqueueOptions): Promise<string> {
    const ids = await this.enqueueBatch(method, [options.kwargs], options, options.jobId === undefined ? undefined : [options.jobId]);
    return ids[0] as string;
  }

  /**
   * Enqueue one job per kwargs object. Every entry is validated before anything is written; a bad
   * one is reported by its 1-based position and nothing is enqueued.
   */
  async enqueueMany(method: JobMethod, kwargsList: readonly Record<string, unknown>[], options: EnqueueManyOptions): Promise<string[]> {
    return this.enqueueBatch(method, kwargsList, options, undefined);
  }

  /** The job `jobId` of `site` (its own id or the full `site||id`), or undefined. */
  async getJob(site: string, jobId: string): Promise<JobRecord | undefined> {
    return findJob(await this.connection(), this.bench, fullJobId(site, jobId));
  }

  /**
   * Stop a running job: the worker running it kills its child and the job ends as `stopped`.
   * Resolves with the stopped job once a worker has done so (waits up to `timeoutMs`).
   */
  async stopJob(site: string, jobId: string, timeoutMs = 10_000): Promise<JobRecord> {
    const id = fullJobId(site, jobId);
    const redis = await this.connection();
    const job = await findJob(redis, this.bench, id);
    if (!job) throw new BenchError('ERR_JOB_NOT_FOUND', `job "${id}" not found`, { details: { jobId: id } });
    if (job.status !== 'started') {
      throw new BenchError('ERR_JOB_NOT_RUNNING', `job "${id}" is not running (status: ${job.status}); only a running job can be stopped`, {
        details: { jobId: id, status: job.status },
      });
    }
    await publishControl(redis, this.bench.settings.bench_id, { command: 'stop-job', jobId: id });
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
    const connecting = this.connecting;
    this.connecting = undefined;
    if (!connecting) return;
    const redis = await connecting.catch(() => undefined);
    await redis?.quit().catch(() => redis.disconnect());
  }

  private async enqueueBatch(
    method: JobMethod,
    kwargsList: readonly (Record<string, unknown> | undefined)[],
    options: EnqueueManyOptions,
    userIds: readonly string[] | undefined,
  ): Promise<string[]> {
    const site = this.siteConfig(options.site);
    const fields = await this.enqueueFields(method, site, options);
    const limit = site.settings.max_job_payload_bytes;
    const single = kwargsList.length === 1;
    const payloads = kwargsList.map((kwargs, i) => {
      const where = single ? `enqueue ${fields.method}` : `entry ${i + 1}`;
      const json = kwargsToJson(kwargs, where);
      checkPayloadSize(json, limit, where);
      return json;
    });
    const ids = payloads.map((_, i) => (userIds?.[i] === undefined ? `${site.site}||${randomUUID()}` : namespacedJobId(site.site, userIds[i])));
    const nonces = payloads.map((_, i) => (userIds?.[i] === undefined ? '' : randomUUID()));

    const redis = await this.connection();
    const keys = queueKeys(this.bench.settings.bench_id, fields.queue);
    const common = enqueueFieldPairs(fields);
    const head = [options.atFront ? '1' : '0', '0', String(common.length / 2), ...common];
    const batches: Promise<void>[] = [];
    let inFlight: Promise<void>[] = [];
    const starts: number[] = [];
    for (let start = 0; start < ids.length; start += BATCH_SIZE) starts.push(start);
    // At the front, the last batch goes first so the whole list keeps its order at the head.
    if (options.atFront) starts.reverse();
    for (const start of starts) {
      const end = Math.min(start + BATCH_SIZE, ids.length);
      const jobKeys: string[] = [];
      const args: string[] = [...head];
      for (let i = start; i < end; i++) {
        jobKeys.push(keys.job(ids[i] as string));
        args.push(ids[i] as string, payloads[i] as string, nonces[i] as string);
      }
      const call = runScript(redis, 'enqueue', [keys.wait, keys.marker, keys.finished, keys.failed, ...jobKeys], args)
        .then((reply) => checkEnqueueReply(reply, ids.slice(start, end)));
      batches.push(call);
      inFlight.push(call);
      if (inFlight.length >= MAX_BATCHES_IN_FLIGHT) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(batches);
    return ids;
  }

  private siteConfig(site: string | undefined): SiteConfig {
    if (typeof site !== 'string' || site.length === 0) {
      throw new BenchError('ERR_ENQUEUE_INVALID', `enqueue needs a site (sites of this bench: ${listSites(this.bench).join(', ') || 'none'})`);
    }
    return loadSiteConfig(this.bench, site);
  }

  private async enqueueFields(method: JobMethod, site: SiteConfig, options: EnqueueManyOptions): Promise<EnqueueFields> {
    const queue = getQueueSpec(this.bench, options.queue ?? 'default');
    const methodPath = typeof method === 'function' ? await methodPathOf(method, this.bench.appsDir, site.installedApps) : method;
    if (typeof methodPath !== 'string') throw new BenchError('ERR_ENQUEUE_INVALID', 'method must be a dotted path or a function');
    if (this.options.verifyMethod) await loadMethod(this.bench.appsDir, methodPath, site.installedApps);
    else resolveMethodFile(this.bench.appsDir, methodPath, site.installedApps);
    const timeout = options.timeout ?? queue.timeout;
    if (!(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)) {
      throw new BenchError('ERR_ENQUEUE_INVALID', `timeout must be a number of seconds greater than 0, found ${String(timeout)}`);
    }
    return {
      site: site.site,
      queue: queue.name,
      method: methodPath,
      jobName: options.jobName ?? methodPath,
      timeout,
      user: options.user,
      resultTtl: site.settings.rq_results_ttl,
      failureTtl: site.settings.rq_job_failure_ttl,
    };
  }
}

function checkEnqueueReply(reply: unknown, ids: readonly string[]): void {
  const codes = reply as number[];
  if (codes[0] === -10) {
    throw new BenchError('ERR_ENQUEUE_INVALID', `queue is full (${String(codes[1])} jobs waiting)`);
  }
  codes.forEach((code, i) => {
    if (code === -1) {
      throw new BenchError('ERR_JOB_EXISTS', `job "${ids[i] as string}" is already queued or running; nothing was enqueued for it`, {
        details: { jobId: ids[i] },
      });
    }
  });
}
