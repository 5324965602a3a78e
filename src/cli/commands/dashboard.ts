// `bench dashboard [--host 127.0.0.1] [--port 9181]`: serve the web dashboard until SIGTERM/SIGINT
// (dashboard_port sets the default port). It binds to 127.0.0.1 unless told otherwise, and refuses any
// other address while no dashboard user has a password (ERR_DASHBOARD_INSECURE). Its users and API
// tokens are managed by the subcommands of dashboard-users.ts (set-password, token).
import { Command } from 'commander';
import { createLogger } from '../../log/logger.js';
import { settleBenchId } from '../../redis/bench-id.js';
import { wholeRange } from '../../util/limits.js';
import { benchFrom, globals, numberFlag } from '../context.js';
import { registerDashboardUserCommands } from './dashboard-users.js';

const PORT_RANGE = wholeRange(0, 65_535, 'port');

export function dashboardCommand(): Command {
  const dashboard = new Command('dashboard')
    .description('serve the web dashboard (queues, jobs, workers, sites, scheduler; live) and /metrics; set-password and token manage its users')
    .option('--host <address>', 'address to listen on (anything but loopback needs a dashboard user with a password)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (default: dashboard_port, 9181)', numberFlag('--port', PORT_RANGE))
    .option('--quiet', 'log warnings and errors only')
    .action(async (flags: { host: string; port?: number; quiet?: boolean }, command: Command) => {
      const log = createLogger({ quiet: Boolean(flags.quiet), name: 'bench-dashboard' });
      // Loaded here: the server, its assets and the auth module are not every command's cost.
      const { startDashboard } = await import('../../dashboard/app.js');
      const bench = await settleBenchId(benchFrom(command), log);
      const running = await startDashboard({ benchPath: globals(command).benchPath ?? bench.path, host: flags.host, port: flags.port ?? bench.settings.dashboard_port, log });
      process.stdout.write(`dashboard at ${running.url}/\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          log.info({ signal }, 'signal received');
          resolve();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await running.close();
    });
  registerDashboardUserCommands(dashboard);
  return dashboard;
}
