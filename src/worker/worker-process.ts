// Entry point of a worker process, forked by a `bench worker` supervisor (argv[2]: its
// WorkerProcessConfig as JSON). It claims, runs and ends its jobs on its own Redis connections (see
// processor.ts); its supervisor only keeps its liveness stamp alive, watches the pipe of its watchdog
// thread, and replaces it when it exits. It talks to the supervisor only at start, once a second
// (its counts, for heartbeats) and when it stops.
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from '../redis/client-type.js';
import { loadBenchConfig } from '../config/load.js';
import { serializeError } from '../errors.js';
import { runFailureEpilogue, closeSiteDatabases } from '../jobs/execute.js';
import { createLogger } from '../log/logger.js';
import { isCluster } from '../redis/cluster.js';
import { closeRedis, createRedis, type RedisRole } from '../redis/connection.js';
import { Fetcher } from './fetcher.js';
import { SiteRules } from './site-rules.js';
import { jobEnvironment, type JobEnvironment } from './job-env.js';
import { Processor } from './processor.js';
import { CREDENTIALS_ENV, workerProcessName, type FromWorker, type ToWorker, type WorkerProcessConfig } from './protocol.js';
import { SlotBoard } from './watchdog.js';

/** How often the process reports its counts. */
const STATS_INTERVAL_MS = 1000;
/** When the supervisor is gone: how long running jobs may still end on their own before they are handed back. */
const ORPHAN_GRACE_MS = 2000;
/** After a Cluster node is lost: when to look for job ends its failover lost (the reads wait out the promotion). */
const FAILOVER_SWEEP_DELAY_MS = 1000;

function send(message: FromWorker): void {
  if (process.connected) process.send?.(message, () => {});
}

const configText = process.argv[2];
if (!configText || typeof process.send !== 'function') {
  console.error('bench-worker: a worker process must be started by `bench worker` (it needs its supervisor)');
  process.exit(2);
}
const config = JSON.parse(configText) as WorkerProcessConfig;
// `bench worker -u / -p` credentials, from the environment its supervisor gave it; removed at once, so
// that job code and the processes it starts never see them.
const credentials = { username: process.env[CREDENTIALS_ENV.username], password: process.env[CREDENTIALS_ENV.password] };
delete process.env[CREDENTIALS_ENV.username];
delete process.env[CREDENTIALS_ENV.password];
const bench = loadBenchConfig(config.benchPath, { warn: false });
const { settings } = bench;
const name = workerProcessName(process.pid, config.tag);
const log = createLogger({ name: 'bench-worker', level: config.logLevel, buffered: true }).child({ worker: name });
lowerPriority(settings.background_process_niceness);
const connections: Redis[] = [];
/** Failure epilogues of killed jobs being run here (a warm stop waits for them). */
const epilogues = new Set<Promise<void>>();
let running: { processor: Processor; env: JobEnvironment; board: SlotBoard; stats: NodeJS.Timeout } | undefined;
let goReceived = false;
let exiting = false;

// The supervisor owns shutdown: ignore Ctrl-C and SIGTERM (a terminal or a process manager sends them
// to the whole process group) and leave when the IPC channel closes (the supervisor died).
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => void orphaned());
// The supervisor may have died while this process was loading (its 'disconnect' then went unheard).
if (!process.connected || process.ppid !== config.supervisorPid) void orphaned();
process.on('message', (message: ToWorker) => {
  if (message.t === 'go') {
    goReceived = true;
    running?.processor.start();
  } else if (message.t === 'stop') void exit(0);
  else if (message.t === 'epilogue') {
    const run = epilogue(message);
    epilogues.add(run);
    void run.finally(() => epilogues.delete(run));
  }
});

/**
 * background_process_niceness: nice +N, as Frappe's set_niceness, before any job code (or thread of ours)
 * starts. A failure (a priority already past 19 - N is fine: the kernel caps it) costs a warning only.
 */
function lowerPriority(niceness: number | undefined): void {
  if (!niceness) return;
  try {
    os.setPriority(Math.min(19, os.getPriority() + niceness));
  } catch (err) {
    log.warn({ err, niceness }, 'background_process_niceness could not be applied');
  }
}

/** A connection, waiting for Redis as long as it takes (the supervisor may stop us meanwhile). */
async function connect(role: RedisRole): Promise<Redis> {
  for (let attempt = 1; ; attempt++) {
    try {
      const client = await createRedis(settings, { role, log, ...credentials });
      connections.push(client);
      return client;
    } catch (err) {
      if (exiting) throw err;
      if (attempt === 1) log.error({ err }, 'redis unreachable: waiting for it');
      await delay(Math.min(500 * attempt, 5000));
    }
  }
}

async function start(): Promise<void> {
  const redis = await connect('worker');
  const env = jobEnvironment(bench, log, redis);
  const board = new SlotBoard(config.concurrency, config.supervisorPid);
  const rules = new SiteRules(bench, (site, err) => log.warn({ site, err }, 'site config not loaded; its fairness rules are kept as they were'));
  const fetcher = new Fetcher(redis, settings.bench_id, name, settings.worker_lease_ttl * 1000, settings.rq_failed_jobs_limit, settings.rq_job_failure_ttl, bench.queues, rules, settings.dashboard_history_days);
  const processor = new Processor({
    fetcher,
    blockingConnection: () => connect('blocking'),
    env,
    log,
    board,
    tag: config.tag,
    queues: config.queues,
    strategy: config.strategy,
    concurrency: config.concurrency,
    burst: config.burst,
    blockSeconds: config.blockSeconds,
    jobTimeoutGraceSeconds: settings.job_timeout_grace,
    maxStalls: settings.job_crash_limit,
    maxJobs: config.maxJobs,
    maxRssBytes: config.maxRssBytes,
    onRetire(reason) {
      if (reason === 'owner lost') {
        log.error({}, 'liveness stamp lost: claiming nothing more; the supervisor replaces this process');
        send({ t: 'owner-lost' });
      } else if (reason === 'drained') {
        // Burst mode: the supervisor may still have a killed job's epilogue for us; it says when to go.
        send({ t: 'drained' });
      } else {
        log.info({ reason, jobsRun: processor.stats.jobsRun, rss: processor.stats.rss }, 'worker process retiring: finishing its jobs, then exiting');
        send({ t: 'retiring', reason });
        void exit(0);
      }
    },
  });
  const stats = setInterval(report, STATS_INTERVAL_MS);
  stats.unref();
  running = { processor, env, board, stats };
  // Every 'ready' from here on is a reconnect: a failover may have lost job ends this process recorded.
  redis.on('ready', () => void processor.sweepGhosts());
  // A Cluster stays ready through a shard's failover; the dead master leaving its node pool is the sign.
  if (isCluster(redis)) redis.on('-node', () => sweepAfterFailover(processor));
  if (exiting) return;
  send({ t: 'ready' });
  if (goReceived) processor.start();
}

/** A lost Cluster node: sweep once the failover settled (the sweep's reads wait for the promoted replica). */
let failoverSweep: NodeJS.Timeout | undefined;
function sweepAfterFailover(processor: Processor): void {
  if (failoverSweep) return;
  failoverSweep = setTimeout(() => {
    failoverSweep = undefined;
    void processor.sweepGhosts();
  }, FAILOVER_SWEEP_DELAY_MS);
  failoverSweep.unref();
}

function report(): void {
  if (!running) return;
  running.processor.stats.current = running.processor.currentJobs();
  send({ t: 'stats', stats: running.processor.stats });
}

/** Finish (warm) and leave: running jobs end and are recorded, then the connections close. */
async function exit(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  await running?.processor.stop();
  await Promise.allSettled([...epilogues]);
  await leave(code);
}

async function leave(code: number): Promise<void> {
  if (running) {
    running.processor.close();
    clearInterval(running.stats);
    report();
    await Promise.allSettled([running.env.close(), closeSiteDatabases(running.env), running.board.close()]);
  }
  for (const client of connections) await closeRedis(client, 1000);
  process.exit(code);
}

/** The supervisor is gone: give running jobs a moment, hand back what still runs, and leave. */
async function orphaned(): Promise<void> {
  if (exiting) return;
  exiting = true;
  if (running) {
    const { processor } = running;
    await Promise.race([processor.stop(), delay(ORPHAN_GRACE_MS)]);
    await processor.abandon(2000);
  }
  await leave(0);
}

async function epilogue(message: Extract<ToWorker, { t: 'epilogue' }>): Promise<void> {
  try {
    if (!running) throw new Error('the worker process is not connected yet');
    await runFailureEpilogue(message.request, message.error, running.env);
  } catch (err) {
    log.error({ err: serializeError(err), jobId: message.request.id }, 'failure epilogue of a killed job failed');
  } finally {
    send({ t: 'epilogue-done', id: message.request.id });
  }
}

start().catch((err: unknown) => {
  if (exiting) return;
  log.fatal({ err }, 'worker process failed to start');
  process.exit(1);
});
