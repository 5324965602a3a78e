// Shared by the `bench setup` commands and `bench start`: write rendered files under the bench (with
// the folders they need), and the notes printed after them (credentials that cannot work together, a
// queue Redis left out of the units).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BenchConfig } from '../../config/load.js';
import { ACL_FILE, runsLocalRedis, type RenderedFile } from '../../bench/setup-files.js';

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
export function warnAboutAuth(bench: BenchConfig): void {
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

/** Why the queue Redis is left out of the units, when it is. */
export function noteSkippedRedis(bench: BenchConfig, skipRedis: boolean): void {
  if (skipRedis) process.stdout.write('skipped the queue Redis (--skip-redis)\n');
  else if (!runsLocalRedis(bench)) process.stdout.write(`skipped the queue Redis: redis_queue is on another machine (${new URL(bench.settings.redis_queue).host})\n`);
}

