// `bench setup systemd`, as frappe-bench's: write the units under config/systemd/ (replacing units
// there only after a question, or --yes), or with --stop / --create-symlinks / --delete-symlinks do
// only that (src/bench/systemd-links.ts).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { BenchError } from '../../errors.js';
import { shellWord } from '../../bench/config-quoting.js';
import { renderRedisConf, renderSystemd, requiredTargets, runsLocalRedis } from '../../bench/setup-files.js';
import { createSymlinks, deleteSymlinks, stopTargets, systemdUnitDir } from '../../bench/systemd-links.js';
import { benchName } from '../../bench/worker-groups.js';
import { benchFrom } from '../context.js';
import { confirmChange } from '../confirm.js';
import { noteSkippedRedis, warnAboutAuth, writeRendered } from './setup-write.js';

interface SystemdFlags {
  user?: string;
  yes?: boolean;
  stop?: boolean;
  createSymlinks?: boolean;
  deleteSymlinks?: boolean;
  skipRedis?: boolean;
}

export function makeSetupSystemdCommand(): Command {
  return new Command('systemd')
    .description("write units under config/systemd/ named as frappe-bench's: default/short/long workers, one per custom queue, the scheduler, the queue Redis when local, the dashboard when dashboard_in_units, and their targets")
    .option('--user <user>', 'user the units run as (default: the current user)')
    .option('-y, --yes', 'replace the units in config/systemd/ without asking')
    .option('--skip-redis', 'leave the queue Redis out (it is left out anyway when redis_queue is on another machine)')
    .option('--stop', "stop the bench's units (the targets <bench>.target requires) and write nothing")
    .option('--create-symlinks', 'link config/systemd/* into /etc/systemd/system ($BENCH_SYSTEMD_DIR) and daemon-reload; write nothing')
    .option('--delete-symlinks', "remove the links to this bench's units from /etc/systemd/system ($BENCH_SYSTEMD_DIR) and daemon-reload")
    .action(async (flags: SystemdFlags, command: Command) => {
      const bench = benchFrom(command);
      const modes = [flags.stop, flags.createSymlinks, flags.deleteSymlinks].filter(Boolean).length;
      if (modes > 1) throw new BenchError('ERR_USAGE', '--stop, --create-symlinks and --delete-symlinks do one thing each: give one', { exitCode: 2 });
      const options = { user: flags.user, skipRedis: flags.skipRedis ?? false };
      if (flags.stop) {
        stopTargets(requiredTargets(bench, options));
        return;
      }
      if (flags.createSymlinks) {
        const links = createSymlinks(bench);
        process.stdout.write(links.length === 0 ? `every unit is already linked in ${systemdUnitDir()}\n` : links.map((l) => `linked ${l}\n`).join(''));
        return;
      }
      if (flags.deleteSymlinks) {
        const links = deleteSymlinks(bench);
        process.stdout.write(links.length === 0 ? `no link to this bench's units in ${systemdUnitDir()}\n` : links.map((l) => `removed ${l}\n`).join(''));
        return;
      }
      const units = renderSystemd(bench, options);
      const dir = path.join(bench.path, 'config', 'systemd');
      const existing = existsSync(dir) ? readdirSync(dir) : [];
      if (existing.length > 0) await confirmChange(`${dir} holds units: replace them?`, `replace the units in ${dir}`, flags.yes ?? false);
      // Units of an earlier shape (a queue since removed, a Redis now elsewhere) would linger, linked.
      const keep = new Set(units.map((u) => path.basename(u.file)));
      for (const stale of existing.filter((f) => !keep.has(f))) {
        rmSync(path.join(dir, stale), { force: true });
        process.stdout.write(`removed ${path.join(dir, stale)}\n`);
      }
      const files = runsLocalRedis(bench, options) ? [renderRedisConf(bench), ...units] : units;
      for (const file of writeRendered(bench, files)) process.stdout.write(`wrote ${file}\n`);
      noteSkippedRedis(bench, options.skipRedis);
      warnAboutAuth(bench);
      // The glob stays outside the quotes, for the shell to expand.
      const all = `${shellWord(dir)}/*`;
      process.stdout.write(`next: sudo ln -s ${all} /etc/systemd/system/ && sudo systemctl daemon-reload && sudo systemctl enable --now ${benchName(bench)}.target\n`);
    });
}
