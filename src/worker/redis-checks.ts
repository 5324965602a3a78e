// Start-up checks of the Redis a worker uses: warn when it is set up to lose jobs (evicting keys, or
// keeping nothing on disk). Managed Redis services may forbid CONFIG; then nothing is said.
import type { Redis } from '../redis/client-type.js';
import type { Logger } from '../log/logger.js';

export interface RedisDurability {
  maxmemoryPolicy: string | undefined;
  appendonly: string | undefined;
  save: string | undefined;
}

export async function readDurability(redis: Redis): Promise<RedisDurability | undefined> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy', 'appendonly', 'save')) as string[];
    const values = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2) values.set(reply[i] as string, reply[i + 1] as string);
    return { maxmemoryPolicy: values.get('maxmemory-policy'), appendonly: values.get('appendonly'), save: values.get('save') };
  } catch {
    return undefined;
  }
}

/** The problems a worker warns about at start-up, as fixed messages with fields. */
export function durabilityWarnings(d: RedisDurability): { message: string; fields: Record<string, unknown> }[] {
  const warnings: { message: string; fields: Record<string, unknown> }[] = [];
  if (d.maxmemoryPolicy !== undefined && d.maxmemoryPolicy !== 'noeviction') {
    warnings.push({
      message: 'redis may evict job keys: set maxmemory-policy noeviction',
      fields: { maxmemoryPolicy: d.maxmemoryPolicy },
    });
  }
  if (d.appendonly === 'no' && (d.save === undefined || d.save.trim() === '')) {
    warnings.push({
      message: 'redis keeps nothing on disk: a restart loses every queued job; turn on appendonly (bench setup redis)',
      fields: { appendonly: d.appendonly, save: d.save },
    });
  } else if (d.appendonly === 'no') {
    warnings.push({
      message: 'redis persists by snapshots only: a crash loses the jobs accepted since the last one; turn on appendonly',
      fields: { save: d.save },
    });
  }
  return warnings;
}

export async function warnIfLossy(redis: Redis, log: Logger): Promise<void> {
  const durability = await readDurability(redis);
  if (!durability) return;
  for (const { message, fields } of durabilityWarnings(durability)) log.warn(fields, message);
}
