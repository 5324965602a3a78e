// The public contract between bench-worker and a job function:
//   export async function process_data(kwargs: { n: number }, ctx: JobContext) { ... }
import type { Logger } from 'pino';
import type { EnqueueOptions, JobMethod } from '../queue/client.js';

export interface JobContext {
  /** Site the job runs for. */
  site: string;
  /** Site-namespaced job id (`site||id`). */
  jobId: string;
  queue: string;
  /** Dotted path of the running method. */
  method: string;
  jobName: string;
  /** User the job was enqueued for, if any. */
  user: string | undefined;
  /** 1 on the first run; higher when the job is run again after its worker died. */
  attempt: number;
  /** Seconds the job may run. */
  timeout: number;
  /** pino logger with jobId, site, queue and method bound. */
  log: Logger;
  /** Aborted when the job passes its timeout or is stopped; its child is killed shortly after. */
  signal: AbortSignal;
  /** The site's merged config (common_site_config.json overlaid with site_config.json). */
  config: Readonly<Record<string, unknown>>;
  /** Enqueue another job; `site` defaults to this job's site. */
  enqueue(method: JobMethod, options?: Partial<EnqueueOptions>): Promise<string>;
}

export type JobHandler<K extends Record<string, unknown> = Record<string, unknown>, R = unknown> = (
  kwargs: K,
  ctx: JobContext,
) => R | Promise<R>;
