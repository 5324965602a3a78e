// The dashboard put together: a BenchClient and a Redis connection for the API, the auth gate, the live
// event stream, the metrics, the route table and the assets, served by server.ts. `bench dashboard`
// and the tests start it through startDashboard.
import { BenchClient } from '../client.js';
import { createRedis, type RedisCredentials } from '../redis/connection.js';
import { benchKeys } from '../redis/keys.js';
import type { Logger } from '../log/logger.js';
import { DashboardAuth } from './auth/index.js';
import { dashboardRoutes } from './api/index.js';
import { DashboardMetrics } from './metrics.js';
import { dashboardHandler, listen, type RunningDashboard } from './server.js';
import { LiveEvents } from './sse.js';
import { loadAssets } from './static.js';

export interface DashboardOptions {
  benchPath: string;
  host: string;
  port: number;
  log: Logger;
  credentials?: RedisCredentials;
}

export interface StartedDashboard extends RunningDashboard {
  live: LiveEvents;
}

export async function startDashboard(options: DashboardOptions): Promise<StartedDashboard> {
  const { log } = options;
  const client = await BenchClient.open({ benchPath: options.benchPath, log });
  const closers: (() => Promise<void> | void)[] = [() => client.close()];
  try {
    const redis = await client.connection();
    const bench = () => client.bench;
    const auth = new DashboardAuth({ bench, log });
    const metrics = new DashboardMetrics();
    const live = new LiveEvents({
      connect: () => createRedis(client.bench.settings, { role: 'blocking', log, ...(options.credentials ?? {}) }),
      channel: () => benchKeys(client.bench.settings.bench_id).events,
      log,
      observe: metrics.observeEvent,
    });
    await live.start();
    closers.push(() => live.close());
    const handler = dashboardHandler({
      bench,
      client,
      redis,
      log,
      auth,
      routes: dashboardRoutes((queues) => live.touch(queues)),
      assets: loadAssets(),
      events: (req, res, principal) => live.handle(req, res, principal),
      // A token (or a session) unless metrics_public; a user limited to some sites is refused there.
      metrics: (principal) => (client.bench.settings.metrics_public || principal ? metrics.renderMetrics({ bench, redis, principal }) : Promise.resolve(undefined)),
    });
    const running = await listen(handler, { host: options.host, port: options.port, usersConfigured: auth.usersConfigured() });
    log.info({ url: running.url, users: auth.usersConfigured() }, 'dashboard listening');
    return {
      ...running,
      live,
      close: async () => {
        await running.close();
        for (const close of closers.reverse()) await close();
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close();
    throw err;
  }
}
