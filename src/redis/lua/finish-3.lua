--[[
  End a running job: finished (with its result) or failed / stopped (with its error). Fenced: only the
  holder of the claim's token may end it, and a replay of the same call is a harmless no-op.
  Finished jobs expire after the results TTL; failed ones after the failure TTL, and the failed set
  keeps only the newest `limit` entries (the oldest are deleted first).

  Input:
    KEYS[1] active, KEYS[2] finished, KEYS[3] failed
    ARGV[1] key prefix of job hashes   ARGV[2] id   ARGV[3] token
    ARGV[4] outcome: finished | failed | stopped
    ARGV[5] payload: result JSON (finished) or error JSON
    ARGV[6] ttl seconds for the job record   ARGV[7] failed-set limit

  Output: 1 done; 0 already done by this token (replay); -1 lease lost (token differs); -2 job gone
]]
--@include "now"
local activeKey, finishedKey, failedKey = KEYS[1], KEYS[2], KEYS[3]
local prefix, id, token, outcome, payload = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ttlMs = tonumber(ARGV[6]) * 1000
local limit = tonumber(ARGV[7])
local jobKey = prefix .. 'job:' .. id

local current = redis.call('HGET', jobKey, 'token')
if not current then return -2 end
if current ~= token then return -1 end
if redis.call('ZREM', activeKey, id) == 0 then
  if redis.call('HGET', jobKey, 'status') == outcome then return 0 end
  return -1
end

local now = nowMs()
if outcome == 'finished' then
  redis.call('HSET', jobKey, 'status', outcome, 'ended', now, 'result', payload)
  redis.call('PEXPIRE', jobKey, ttlMs)
  redis.call('ZREMRANGEBYSCORE', finishedKey, '-inf', now)
  redis.call('ZADD', finishedKey, now + ttlMs, id)
else
  redis.call('HSET', jobKey, 'status', outcome, 'ended', now, 'error', payload)
  redis.call('PEXPIRE', jobKey, ttlMs)
  redis.call('ZREMRANGEBYSCORE', failedKey, '-inf', now - ttlMs)
  redis.call('ZADD', failedKey, now, id)
  local excess = redis.call('ZCARD', failedKey) - limit
  if excess > 0 then
    local oldest = redis.call('ZRANGE', failedKey, 0, excess - 1)
    for _, old in ipairs(oldest) do redis.call('DEL', prefix .. 'job:' .. old) end
    redis.call('ZREMRANGEBYRANK', failedKey, 0, excess - 1)
  end
end
return 1
