// What a supervisor and its worker processes tell each other (Node IPC), and what the supervisor
// passes a worker process at its start. Nothing here is sent per job: a worker process claims, runs and
// ends its jobs on its own Redis connection.
import os from 'node:os';
import type { SerializedError } from '../vocabulary.js';
import type { ExecutionRequest } from '../jobs/request.js';
import type { DequeueStrategy } from './strategy.js';

/**
 * Environment variables through which a supervisor started with `bench worker -u / -p` hands those
 * credentials to its worker processes: never in their argv (visible to every user in `ps`). A worker
 * process reads them once and removes them from its environment, so job code and the processes it starts
 * never see them.
 */
export const CREDENTIALS_ENV = { username: 'BENCH_WORKER_RQ_USERNAME', password: 'BENCH_WORKER_RQ_PASSWORD' } as const;

/** The start-up settings of one worker process (JSON in its argv: never a credential). */
export interface WorkerProcessConfig {
  benchPath: string;
  /** Pid of its supervisor: a process whose parent is no longer that one is an orphan and leaves. */
  supervisorPid: number;
  /** Short random tag: part of its name and of its claim tokens (`<tag>.<call>:<n>`). */
  tag: string;
  queues: readonly string[];
  strategy: DequeueStrategy;
  concurrency: number;
  burst: boolean;
  /** Seconds one blocking wait for new work lasts before the process looks again. */
  blockSeconds: number;
  /** Jobs it runs before it retires (0: no limit). */
  maxJobs: number;
  /** Resident memory in bytes past which it retires between jobs (0: no limit). */
  maxRssBytes: number;
  logLevel: string;
}

/** Supervisor -> worker process. */
export type ToWorker =
  /** Its liveness stamps are registered: it may claim. */
  | { t: 'go' }
  /** Warm stop: claim nothing more, finish the running jobs, exit. */
  | { t: 'stop' }
  /** Run the failure epilogue of a job whose worker process was killed under it. */
  | { t: 'epilogue'; request: ExecutionRequest; error: SerializedError };

/** Counts a worker process reports about itself (for heartbeats, monitoring and recycling). */
export interface WorkerStats {
  successful: number;
  failed: number;
  /** Ms spent running jobs. */
  workingMs: number;
  /** Jobs run since it started. */
  jobsRun: number;
  /** Ids of the jobs it runs now. */
  current: string[];
  /** Resident memory, bytes. */
  rss: number;
}

/** Why a worker process stops claiming and leaves. */
export type RetireReason = 'max jobs' | 'max memory';

/** Worker process -> supervisor. */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'stats'; stats: WorkerStats }
  /** It reached a limit: it finishes its jobs and exits; a replacement may start now. */
  | { t: 'retiring'; reason: RetireReason }
  /** Its liveness stamp lapsed: it claims nothing more and waits to be replaced. */
  | { t: 'owner-lost' }
  /** Burst mode: every queue it listens to is empty and it runs nothing; it exits. */
  | { t: 'drained' }
  | { t: 'epilogue-done'; id: string };

/**
 * The name of a worker process (owner of its jobs in Redis, its entry in monitoring): its host, pid
 * and tag (a pid is reused; the tag is not). Its supervisor and the process itself both compute it.
 */
export function workerProcessName(pid: number, tag: string): string {
  return `${os.hostname()}.${pid}.${tag}`;
}

/** The stdio index of the pipe on which a worker process's watchdog thread reports overdue jobs. */
export const WATCH_FD = 4;
