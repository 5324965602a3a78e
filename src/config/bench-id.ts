// A new bench's id, and saving it to common_site_config.json. The id is random (not derived from the
// bench path: two paths can give the same id, and a moved bench would get another), so it must be stored:
// the first command that connects to Redis saves it (redis/bench-id.ts decides which id). Two first
// commands at once must agree: the save happens under a lock file (created with O_EXCL), and re-reads the
// file under it, so the second one finds and uses the first one's id.
import { closeSync, openSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchError } from '../errors.js';
import type { BenchConfig } from './load.js';
import { updateCommonConfig } from './update.js';
import { readJsonObject } from './validate.js';

/** RFC 4648 base32 alphabet, lower case: no braces, spaces or ":" (key patterns are prefixes). */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** Random characters of an id: 10 x 5 bits. */
const ID_CHARS = 10;
/** How long a save waits for another process's lock; a lock older than STALE_LOCK_MS was left by a crash. */
const LOCK_WAIT_MS = 10_000;
const STALE_LOCK_MS = 30_000;
const LOCK_POLL_MS = 20;

/** A new random bench id: "b" and 10 base32 characters (50 bits), e.g. "bq3x7kd2mza". */
export function newBenchId(): string {
  const bytes = randomBytes(ID_CHARS);
  let id = 'b';
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length];
  return id;
}

/**
 * Save `candidate` as the bench_id of common_site_config.json unless the file has one by now; resolves to
 * the id on disk (the file's own when another process saved first). ERR_CONFIG_LOCKED when another
 * process holds the lock for too long.
 */
export async function saveBenchId(bench: BenchConfig, candidate: string): Promise<string> {
  const lock = `${bench.commonConfigFile}.lock`;
  await acquire(lock);
  try {
    const onDisk = savedBenchId(bench);
    if (onDisk !== undefined) return onDisk;
    updateCommonConfig(bench, { bench_id: candidate });
    return candidate;
  } finally {
    rmSync(lock, { force: true });
  }
}

/** The bench_id common_site_config.json holds now, if any. */
export function savedBenchId(bench: BenchConfig): string | undefined {
  const id = readJsonObject(bench.commonConfigFile, { optional: true })['bench_id'];
  return typeof id === 'string' ? id : undefined;
}

async function acquire(lock: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (lockAge(lock) > STALE_LOCK_MS) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new BenchError('ERR_CONFIG_LOCKED', `${lock} has been held for over ${LOCK_WAIT_MS / 1000} s: another bench command is saving bench_id (remove the file if none runs)`, {
        details: { file: lock },
      });
    }
    await sleep(LOCK_POLL_MS);
  }
}

function lockAge(lock: string): number {
  try {
    return Date.now() - statSync(lock).mtimeMs;
  } catch {
    return 0;
  }
}
