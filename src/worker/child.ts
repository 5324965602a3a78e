// Entry point of a job-running child process. It has no Redis connection of its own for the queue
// protocol: the supervisor claims jobs, sends them here over IPC, and records the outcome. A job that
// blocks this process's event loop therefore cannot stall heartbeats or lease renewal.
import { statSync } from 'node:fs';
import pLimit from 'p-limit';
import { loadBenchConfig, loadSiteConfig, type BenchConfig, type SiteConfig } from '../config/load.js';
import { BenchError, serializeError } from '../errors.js';
import { closeSiteDatabases, executeJob, runFailureEpilogue, type ExecutionEnv } from '../jobs/execute.js';
import { eventsSent } from '../jobs/lifecycle.js';
import { withDeadline } from '../redis/connection.js';
import { createLogger } from '../log/logger.js';
import { BenchClient, type EnqueueOptions, type JobMethod } from '../queue/client.js';
import type { EpilogueRequest, FromChild, RunRequest, ToChild } from './child-protocol.js';

const benchPath = process.argv[2];
// The supervisor sends no more than this many jobs at once; p-limit holds any excess back.
const limit = pLimit(Math.max(1, Number(process.argv[3] ?? 1)));
if (!benchPath || typeof process.send !== 'function') {
  console.error('bench-worker child: must be forked by a worker with the bench path as argument');
  process.exit(2);
}
const bench: BenchConfig = loadBenchConfig(benchPath);
const log = createLogger({ name: 'bench-job', level: process.env['BENCH_CHILD_LOG_LEVEL'] });
const running = new Map<string, AbortController>();
let client: Promise<BenchClient> | undefined;

function send(message: FromChild): void {
  process.send?.(message);
}

/** Site configs are re-read when their file changes (checked at most once a second per site). */
const SITE_CHECK_MS = 1000;
const siteCache = new Map<string, { mtimeMs: number; checkedAt: number; config: SiteConfig }>();
function siteConfig(site: string): SiteConfig {
  const now = Date.now();
  const cached = siteCache.get(site);
  if (cached && now - cached.checkedAt < SITE_CHECK_MS) return cached.config;
  const file = `${bench.sitesDir}/${site}/site_config.json`;
  let mtimeMs = -1;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    // loadSiteConfig below reports the missing site.
  }
  if (cached && cached.mtimeMs === mtimeMs) {
    cached.checkedAt = now;
    return cached.config;
  }
  const config = loadSiteConfig(bench, site);
  siteCache.set(site, { mtimeMs, checkedAt: now, config });
  return config;
}

/** Resident memory for the supervisor's recycling check, sampled at most once a second. */
let rssSample = { value: 0, at: 0 };
function currentRss(): number {
  const now = Date.now();
  if (now - rssSample.at >= 1000) rssSample = { value: process.memoryUsage.rss(), at: now };
  return rssSample.value;
}

/** The child's client, opened on first use; reopened after a failed open or a connection that ended. */
async function benchClient(): Promise<BenchClient> {
  const current = client;
  if (current) {
    const open = await current.catch(() => undefined);
    const redis = open ? await open.connection().catch(() => undefined) : undefined;
    if (redis && redis.status !== 'end') return open as BenchClient;
    if (client === current) client = undefined;
    void open?.close();
  }
  client ??= BenchClient.open({ benchPath: bench.path, log });
  return client;
}

function enqueueFromJob(site: string) {
  return async (method: JobMethod, options: Partial<EnqueueOptions> = {}): Promise<string> => {
    return (await benchClient()).enqueue(method, { ...options, site: options.site ?? site });
  };
}

/** Realtime messages and job lifecycle events (channel `events`) go out on the same client. */
async function publish(channel: string, message: string): Promise<number> {
  return (await (await benchClient()).connection()).publish(channel, message);
}

const env: ExecutionEnv = { bench, log, siteConfig, enqueue: enqueueFromJob, publish };

async function run(request: RunRequest): Promise<void> {
  const controller = new AbortController();
  running.set(request.id, controller);
  try {
    const result = await executeJob(request, env, controller.signal);
    send({ t: 'done', id: request.id, rss: currentRss(), ok: true, result });
  } catch (err) {
    send({ t: 'done', id: request.id, rss: currentRss(), ok: false, error: serializeError(err) });
  } finally {
    running.delete(request.id);
  }
}

async function epilogue(request: EpilogueRequest): Promise<void> {
  try {
    await runFailureEpilogue(request.job, request.error, env);
  } catch (err) {
    log.error({ err, jobId: request.job.id }, 'failure epilogue of a killed job failed');
  } finally {
    send({ t: 'epilogue-done', id: request.job.id });
  }
}

process.on('message', (message: ToChild) => {
  if (message.t === 'run') void limit(() => run(message));
  else if (message.t === 'epilogue') void limit(() => epilogue(message));
  else if (message.t === 'abort') running.get(message.id)?.abort(new BenchError('ERR_JOB_TIMEOUT', message.reason));
});
// The supervisor owns shutdown: ignore Ctrl-C and SIGTERM (a terminal or a process manager sends them
// to the whole process group) and exit when the IPC channel closes (the supervisor died or let us go).
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => {
  for (const controller of running.values()) controller.abort(new Error('worker supervisor went away'));
  // Queued job events first (at most 2 s), then the connections.
  const sent = withDeadline(eventsSent(), 2000, 'job events not sent').catch(() => {});
  void sent
    .then(() => Promise.allSettled([client?.then((c) => c.close()), closeSiteDatabases(env)]))
    .finally(() => process.exit(0));
});
send({ t: 'ready' });
