// What the jobs of a worker process get from it (the ExecutionEnv): site configs re-read when their file
// changes (checked at most once a second per site), enqueue from inside a job through a client opened
// on first use, and realtime messages published on the process's own connection.
import { statSync } from 'node:fs';
import type { Redis } from '../redis/client-type.js';
import { loadSiteConfig, type BenchConfig, type SiteConfig } from '../config/load.js';
import type { ExecutionEnv } from '../jobs/execute.js';
import type { Logger } from '../log/logger.js';
import type { BenchClient } from '../client.js';
import type { EnqueueOptions, JobMethod } from '../vocabulary.js';
import { checkEnqueueRequest } from '../queue/enqueue.js';

const SITE_CHECK_MS = 1000;

export interface JobEnvironment extends ExecutionEnv {
  /** Close the enqueue client, if one was opened. */
  close(): Promise<void>;
}

export function jobEnvironment(bench: BenchConfig, log: Logger, redis: Redis): JobEnvironment {
  const sites = new Map<string, { mtimeMs: number; checkedAt: number; config: SiteConfig }>();
  let client: Promise<BenchClient> | undefined;

  /** The enqueue client, opened on first use; reopened after a failed open or a connection that ended. */
  async function benchClient(): Promise<BenchClient> {
    const current = client;
    if (current) {
      const open = await current.catch(() => undefined);
      const connection = open ? await open.connection().catch(() => undefined) : undefined;
      if (connection && connection.status !== 'end') return open as BenchClient;
      if (client === current) client = undefined;
      void open?.close();
    }
    // Loaded on first use: most jobs never enqueue, and the worker process starts faster without it.
    client ??= import('../client.js').then(({ BenchClient }) => BenchClient.open({ benchPath: bench.path, log }));
    return client;
  }

  return {
    bench,
    log,
    siteConfig(site: string): SiteConfig {
      const now = Date.now();
      const cached = sites.get(site);
      if (cached && now - cached.checkedAt < SITE_CHECK_MS) return cached.config;
      let mtimeMs = -1;
      try {
        mtimeMs = statSync(`${bench.sitesDir}/${site}/site_config.json`).mtimeMs;
      } catch {
        // loadSiteConfig below reports the missing site.
      }
      if (cached && cached.mtimeMs === mtimeMs) {
        cached.checkedAt = now;
        return cached.config;
      }
      const config = loadSiteConfig(bench, site);
      sites.set(site, { mtimeMs, checkedAt: now, config });
      return config;
    },
    checkEnqueue(method: JobMethod, options: Partial<EnqueueOptions>, installedApps: readonly string[] | undefined) {
      checkEnqueueRequest(bench, method, options, installedApps);
    },
    enqueue(site: string) {
      return async (method: JobMethod, options: Partial<EnqueueOptions> = {}): Promise<string> =>
        (await benchClient()).enqueue(method, { ...options, site: options.site ?? site });
    },
    publish(channel: string, message: string) {
      return redis.publish(channel, message);
    },
    async close() {
      const open = await client?.catch(() => undefined);
      await open?.close();
    },
  };
}
