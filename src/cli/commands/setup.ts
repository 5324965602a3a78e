// `bench setup redis | supervisor | systemd`: write the queue Redis's config and the process-manager
// units under config/, shaped as Frappe's, and print the shell command that installs them.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { BenchConfig } from '../../config/load.js';
import { shellWord } from '../../bench/config-quoting.js';
import { ACL_FILE, renderRedisConf, renderSupervisor, renderSystemd, type RenderedFile } from '../../bench/setup-files.js';
import { benchName } from '../../bench/worker-groups.js';
import { benchFrom } from '../context.js';

export function writeRendered(bench: BenchConfig, files: readonly RenderedFile[]): string[] {
  mkdirSync(path.join(bench.path, 'logs'), { recursive: true });
  mkdirSync(path.join(bench.path, 'config', 'pids'), { recursive: true });
  mkdirSync(path.join(bench.path, 'config', 'redis_queue_data'), { recursive: true });
  return files.map(({ file, content }) => {
    const full = path.join(bench.path, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
    return full;
  });
}

/** The Redis config and the bench's credentials that cannot work together: say so on stderr. */
function warnAboutAuth(bench: BenchConfig): void {
  const hasAcl = existsSync(path.join(bench.path, ACL_FILE));
  if (bench.settings.use_rq_auth && !hasAcl) {
    process.stderr.write(
      `warning: use_rq_auth is on but ${ACL_FILE} does not exist: a Redis started from this config lets anyone in and refuses the bench's login (WRONGPASS). Run bench create-rq-users, then bench setup redis again.\n`,
    );
  } else if (!bench.settings.use_rq_auth && hasAcl && !new URL(bench.settings.redis_queue).password) {
    process.stderr.write(
      `warning: ${ACL_FILE} exists but use_rq_auth is off: a Redis started from this config refuses the bench (NOAUTH). Set use_rq_auth (bench create-rq-users --use-rq-auth).\n`,
    );
  }
}

export function makeSetupCommand(): Command {
  const setup = new Command('setup').description('write config files for Redis and process managers under config/');
  setup
    .command('redis')
    .description('write config/redis_queue.conf (port from redis_queue, AOF on, noeviction, aclfile when config/redis_queue.acl exists)')
    .action((_flags: unknown, command: Command) => {
      const bench = benchFrom(command);
      for (const file of writeRendered(bench, [renderRedisConf(bench)])) process.stdout.write(`wrote ${file}\n`);
      warnAboutAuth(bench);
    });
  setup
    .command('supervisor')
    .description('write config/supervisor.conf: Redis, a short and a long worker, one worker per custom queue')
    .action((_flags: unknown, command: Command) => {
      const bench = benchFrom(command);
      const files = [renderRedisConf(bench), renderSupervisor(bench)];
      for (const file of writeRendered(bench, files)) process.stdout.write(`wrote ${file}\n`);
      warnAboutAuth(bench);
      const conf = shellWord(path.join(bench.path, 'config', 'supervisor.conf'));
      process.stdout.write(`next: sudo ln -s ${conf} /etc/supervisor/conf.d/${benchName(bench)}.conf && sudo supervisorctl reread && sudo supervisorctl update\n`);
    });
  setup
    .command('systemd')
    .description('write units under config/systemd/: Redis, a short and a long worker, one per custom queue')
    .action((_flags: unknown, command: Command) => {
      const bench = benchFrom(command);
      const files = [renderRedisConf(bench), ...renderSystemd(bench)];
      for (const file of writeRendered(bench, files)) process.stdout.write(`wrote ${file}\n`);
      warnAboutAuth(bench);
      const name = benchName(bench);
      // The glob stays outside the quotes, for the shell to expand.
      const units = `${shellWord(path.join(bench.path, 'config', 'systemd'))}/*`;
      process.stdout.write(`next: sudo ln -s ${units} /etc/systemd/system/ && sudo systemctl daemon-reload && sudo systemctl enable --now ${name}.target\n`);
    });
  return setup;
}
