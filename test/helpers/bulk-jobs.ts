// Fills a queue with many jobs at once, for the tests of large queues: one Lua call writes 10,000 job
// hashes (the fields enqueue-6.lua writes for a no-op job: status, method, enq) and puts their ids in
// the wait list or a sorted set, so that 200,000 jobs take about a second instead of a minute of
// enqueues. Key names come from src/redis/keys.ts; the script is test-only (it builds job keys itself).
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../../src/redis/keys.ts';

const FILL = `
local prefix, key, kind, status, method, base = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local batch = {}
for i = 7, #ARGV do
  local id = ARGV[i]
  local score = base + i - 7
  redis.call('HSET', prefix .. 'job:' .. id, 'status', status, 'method', method, 'enq', score)
  if kind == 'list' then
    batch[#batch + 1] = id
    if #batch == 1000 then
      redis.call('RPUSH', key, unpack(batch))
      batch = {}
    end
  else
    redis.call('ZADD', key, score, id)
  end
end
if #batch > 0 then redis.call('RPUSH', key, unpack(batch)) end
return #ARGV - 6`;

const CHUNK = 10_000;

/**
 * Write a job for each of `ids` (full ids, `site||...`), in order: queued at the end of the wait list,
 * or finished/failed in their set, scored `score`, `score` + 1, ... in order (the finished set scores by
 * expiry, the failed set by failure time; both list the highest first).
 */
export async function fillJobs(redis: Redis, keys: QueueKeys, ids: readonly string[], options: { status?: 'queued' | 'finished' | 'failed'; score?: number; method?: string } = {}): Promise<void> {
  const status = options.status ?? 'queued';
  const key = status === 'queued' ? keys.wait : status === 'finished' ? keys.finished : keys.failed;
  const kind = status === 'queued' ? 'list' : 'zset';
  const score = options.score ?? Date.now();
  for (let start = 0; start < ids.length; start += CHUNK) {
    await redis.eval(FILL, 0, keys.prefix, key, kind, status, options.method ?? 'testapp.tasks.echo', score + start, ...ids.slice(start, start + CHUNK));
  }
}
