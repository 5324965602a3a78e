// The Redis ACL of a bench, as Frappe's `bench create-rq-users` writes it: config/redis_queue.acl
// holds the default user (off, or guarded by an admin password) and one user for the bench, allowed
// only the bench's keys and channels (its job events and control channels, and realtime_channel) and every command but the dangerous ones (INFO and CONFIG GET
// excepted: ioredis' ready check, and the worker's start-up durability check). `bench setup redis`
// points the queue Redis at the file (aclfile); passwords are stored hashed.
import { createHash, randomBytes } from 'node:crypto';
import type { BenchConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { BenchSettings } from '../config/schema.js';
import { controlChannel } from '../redis/control.js';
import { benchKeyPatterns, benchKeys, globEscape } from '../redis/keys.js';
import { ACL_FILE, type RenderedFile } from './setup-files.js';

/** Commands of the bench user: all but @dangerous, plus the two read-only ones the bench uses. */
export const BENCH_USER_COMMANDS = ['+@all', '-@dangerous', '+info', '+config|get'] as const;

export interface RqCredentials {
  username: string;
  password: string;
  /** The default user's password; without one, the default user is turned off. */
  adminPassword?: string | undefined;
}

/** The bench's Redis user: rq_username, else the bench id (as the bench logs in with use_rq_auth). */
export function rqUsername(bench: BenchConfig): string {
  const key = bench.settings.rq_username === undefined ? 'bench_id' : 'rq_username';
  const name = bench.settings.rq_username ?? bench.settings.bench_id;
  if (!/^[^\s\p{Cc}]+$/u.test(name) || name === 'default') {
    throw new ConfigError(
      `${bench.commonConfigFile}: ${key} "${name}" cannot name the bench's Redis user: it must hold no spaces or control characters and not be "default"`,
      bench.commonConfigFile,
      key,
    );
  }
  return name;
}

/** A new random password (64 hex digits: safe in any config file and URL). */
export function generatePassword(): string {
  return randomBytes(32).toString('hex');
}

/** The bench user's rules after its password: key patterns, channels, commands. */
export function benchUserRules(settings: Pick<BenchSettings, 'bench_id' | 'realtime_channel'>): string[] {
  const benchId = settings.bench_id;
  return [
    'resetkeys',
    ...benchKeyPatterns(benchId).map((pattern) => `~${pattern}`),
    'resetchannels',
    `&${globEscape(settings.realtime_channel)}`,
    `&${globEscape(benchKeys(benchId).events)}`,
    `&${globEscape(controlChannel(benchId))}`,
    ...BENCH_USER_COMMANDS,
  ];
}

/** config/redis_queue.acl (an ACL file has no comments: Redis refuses any line but `user ...`). */
export function renderAcl(bench: BenchConfig, credentials: RqCredentials): RenderedFile {
  const admin = credentials.adminPassword === undefined
    ? 'user default off resetpass resetkeys resetchannels -@all'
    : `user default on resetpass #${sha256(credentials.adminPassword)} ~* &* +@all`;
  const user = ['user', credentials.username, 'on', 'resetpass', `#${sha256(credentials.password)}`, ...benchUserRules(bench.settings)].join(' ');
  return { file: ACL_FILE, content: `${admin}\n${user}\n` };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
