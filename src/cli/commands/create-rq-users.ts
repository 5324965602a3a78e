// `bench create-rq-users [--set-admin-password] [--use-rq-auth]`, as Frappe's: write the queue Redis's
// ACL file (config/redis_queue.acl: the bench's user, limited to its keys and channels, and the
// default user off or guarded by a new admin password, printed once and stored nowhere) and set
// rq_username / rq_password (and use_rq_auth) in sites/common_site_config.json. Each run makes new
// passwords; Redis and the workers use them once restarted (after `bench setup redis`).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { updateCommonConfig } from '../../config/update.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { generatePassword, renderAcl, rqUsername } from '../../bench/rq-users.js';
import { benchFrom } from '../context.js';
import type { BenchConfig } from '../../config/load.js';
import { BenchError, isBenchError } from '../../errors.js';
import { settleBenchId } from '../../redis/bench-id.js';
import { ADMIN_PASSWORD_ENV } from '../../redis/connection.js';

interface CreateRqUsersFlags {
  setAdminPassword?: boolean;
  useRqAuth?: boolean;
}

export function makeCreateRqUsersCommand(): Command {
  return new Command('create-rq-users')
    .description('write config/redis_queue.acl (a Redis user for this bench, limited to its keys and channels) and set rq_username / rq_password')
    .option('--set-admin-password', 'guard the default (admin) user with a new password, printed once, instead of turning it off')
    .option('--use-rq-auth', 'also set use_rq_auth: true, so that the bench logs in as that user')
    .action(async (flags: CreateRqUsersFlags, command: Command) => {
      const bench = await savedBenchIdOf(benchFrom(command));
      const username = rqUsername(bench);
      const password = generatePassword();
      const adminPassword = flags.setAdminPassword ? generatePassword() : undefined;
      const acl = renderAcl(bench, { username, password, adminPassword });
      const aclPath = path.join(bench.path, acl.file);
      mkdirSync(path.dirname(aclPath), { recursive: true });
      writeFileAtomic(aclPath, acl.content, { mode: 0o600 });
      const patch = { rq_username: username, rq_password: password, ...(flags.useRqAuth ? { use_rq_auth: true } : {}) };
      updateCommonConfig(bench, patch);
      const out = process.stdout;
      out.write(`wrote ${aclPath}: user ${username} (its own keys and channels), default user ${adminPassword === undefined ? 'off' : 'with the admin password'}\n`);
      out.write(`updated ${bench.commonConfigFile}: ${Object.keys(patch).join(', ')}\n`);
      if (adminPassword !== undefined) {
        out.write(`Redis admin password (user default), shown only now: ${adminPassword}\n`);
        // Frappe's variable, with Frappe's spelling: without use_rq_auth, the bench logs in as the default user with it.
        out.write(`to use it (as Frappe does): export ${ADMIN_PASSWORD_ENV}=${adminPassword}\n`);
      }
      if (!flags.useRqAuth && !bench.settings.use_rq_auth) out.write(`note: use_rq_auth is off: the bench logs in as ${username} once it is on (--use-rq-auth)\n`);
      out.write('next: bench setup redis (adds the aclfile line), then restart the queue Redis and the workers\n');
    });
}

/**
 * The bench with a saved bench_id: the user's key patterns and channels are named by it. A bench without
 * one needs Redis to tell whether its jobs live under the old path-derived id (redis/bench-id.ts).
 */
async function savedBenchIdOf(bench: BenchConfig): Promise<BenchConfig> {
  try {
    return await settleBenchId(bench);
  } catch (err) {
    if (!isBenchError(err) || err.code !== 'ERR_REDIS_UNAVAILABLE') throw err;
    throw new BenchError(
      'ERR_REDIS_UNAVAILABLE',
      `${bench.commonConfigFile} sets no bench_id, and choosing one needs redis_queue (to keep the id an existing bench's jobs live under): start Redis, or set bench_id, then run create-rq-users again (${err.message})`,
      { cause: err },
    );
  }
}
