--[[
  End a running job: finished (with its result) or failed / stopped (with its error). Fenced: only the
  holder of the claim's token may end it, and a replay of the same call is a harmless no-op.
  A failure with a retry delay schedules the job again instead (delayed set, status scheduled),
  keeping the error history of every attempt.
  Finished jobs expire after the results TTL; failed ones after the failure TTL, and the failed set
  keeps only the newest `limit` entries (the oldest are deleted first).

  Input:
    KEYS[1] active, KEYS[2] finished, KEYS[3] failed, KEYS[4] delayed
    ARGV[1] key prefix of job hashes   ARGV[2] id   ARGV[3] token
    ARGV[4] outcome: finished | failed | stopped
    ARGV[5] payload: result JSON (finished) or error JSON
    ARGV[6] ttl seconds for the job record   ARGV[7] failed-set limit
    ARGV[8] retry delay ms (failed only; 0 = no retry)
    ARGV[9] error history JSON (every attempt's error, this one last; "" to leave it)

  Output: 1 done; 2 scheduled for a retry; 0 already done by this token (replay);
          -1 lease lost (token differs); -2 job gone
]]
--@include "now"
--@include "trimFailed"
local activeKey, finishedKey, failedKey, delayedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, id, token, outcome, payload = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ttlMs = tonumber(ARGV[6]) * 1000
local limit = tonumber(ARGV[7])
local retryMs = tonumber(ARGV[8])
local history = ARGV[9]
local jobKey = prefix .. 'job:' .. id

local current = redis.call('HGET', jobKey, 'token')
if not current then return -2 end
if current ~= token then return -1 end
if redis.call('ZREM', activeKey, id) == 0 then
  local status = redis.call('HGET', jobKey, 'status')
  if status == outcome or (retryMs > 0 and status == 'scheduled') then return 0 end
  return -1
end

local now = nowMs()
if history ~= '' then redis.call('HSET', jobKey, 'errors', history) end
if outcome == 'failed' and retryMs > 0 then
  redis.call('HSET', jobKey, 'status', 'scheduled', 'error', payload, 'runAt', now + retryMs)
  redis.call('HINCRBY', jobKey, 'retries', 1)
  redis.call('ZADD', delayedKey, now + retryMs, id)
  return 2
end
if outcome == 'finished' then
  redis.call('HSET', jobKey, 'status', outcome, 'ended', now, 'result', payload)
  redis.call('PEXPIRE', jobKey, ttlMs)
  redis.call('ZREMRANGEBYSCORE', finishedKey, '-inf', now)
  redis.call('ZADD', finishedKey, now + ttlMs, id)
else
  redis.call('HSET', jobKey, 'status', outcome, 'ended', now, 'error', payload)
  redis.call('PEXPIRE', jobKey, ttlMs)
  -- No trim by age here: sites keep failures for different TTLs; readers skip expired ids.
  redis.call('ZADD', failedKey, now, id)
  trimFailed(failedKey, prefix, limit)
end
return 1
