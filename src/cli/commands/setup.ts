// `bench setup redis | procfile | supervisor | systemd`: write the queue Redis's config, the Procfile of
// `bench start` and the process-manager units under config/, shaped as Frappe's, and print the shell
// command that installs them. A file the operator may have edited (Procfile, supervisor.conf, the
// units) is only replaced after a question on a terminal, or with --yes.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { shellWord } from '../../bench/config-quoting.js';
import { PROCFILE, renderProcfile } from '../../bench/procfile.js';
import { renderRedisConf, renderSupervisor, runsLocalRedis } from '../../bench/setup-files.js';
import { benchName } from '../../bench/worker-groups.js';
import { benchFrom } from '../context.js';
import { confirmChange } from '../confirm.js';
import { makeSetupSystemdCommand } from './setup-systemd.js';
import { noteSkippedRedis, warnAboutAuth, writeRendered } from './setup-write.js';

interface UnitFlags {
  user?: string;
  yes?: boolean;
  skipRedis?: boolean;
}

export function makeSetupCommand(): Command {
  const setup = new Command('setup').description('write config files for Redis, bench start and process managers');
  setup
    .command('redis')
    .description('write config/redis_queue.conf (port from redis_queue, AOF on, noeviction, aclfile when config/redis_queue.acl exists)')
    .action((_flags: unknown, command: Command) => {
      const bench = benchFrom(command);
      for (const file of writeRendered(bench, [renderRedisConf(bench)])) process.stdout.write(`wrote ${file}\n`);
      warnAboutAuth(bench);
    });
  setup
    .command('procfile')
    .description("write the Procfile of bench start: redis_queue (when local), worker, worker_<queue> per custom queue, schedule, dashboard")
    .option('-y, --yes', 'replace an existing Procfile without asking')
    .action(async (flags: UnitFlags, command: Command) => {
      const bench = benchFrom(command);
      const file = path.join(bench.path, PROCFILE);
      const content = renderProcfile(bench);
      if (existsSync(file)) await confirmChange(`${file} exists: replace it?`, `replace ${file}`, flags.yes ?? false);
      writeFileSync(file, content);
      process.stdout.write(`wrote ${file}\n`);
    });
  setup
    .command('supervisor')
    .description('write config/supervisor.conf: the scheduler, a short and a long worker, one per custom queue, the queue Redis when local, and the dashboard when dashboard_in_units')
    .option('--user <user>', 'user the programs run as (default: the current user)')
    .option('-y, --yes', 'replace an existing config/supervisor.conf without asking')
    .option('--skip-redis', 'leave the queue Redis out (it is left out anyway when redis_queue is on another machine)')
    .action(async (flags: UnitFlags, command: Command) => {
      const bench = benchFrom(command);
      const options = { user: flags.user, skipRedis: flags.skipRedis ?? false };
      const supervisor = renderSupervisor(bench, options);
      const conf = path.join(bench.path, supervisor.file);
      if (existsSync(conf)) await confirmChange(`${conf} exists: replace it?`, `replace ${conf}`, flags.yes ?? false);
      const files = runsLocalRedis(bench, options) ? [renderRedisConf(bench), supervisor] : [supervisor];
      for (const file of writeRendered(bench, files)) process.stdout.write(`wrote ${file}\n`);
      noteSkippedRedis(bench, options.skipRedis);
      warnAboutAuth(bench);
      process.stdout.write(`next: sudo ln -s ${shellWord(conf)} /etc/supervisor/conf.d/${benchName(bench)}.conf && sudo supervisorctl reread && sudo supervisorctl update\n`);
    });
  setup.addCommand(makeSetupSystemdCommand());
  return setup;
}
