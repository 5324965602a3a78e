--[[
  Return jobs whose lease expired (their worker died or hung) to the front of their queue. One runner
  at a time across all workers: the script first takes a lock with SET NX PX and does nothing when
  another worker holds it.

  Input:
    KEYS[1] active, KEYS[2] wait, KEYS[3] marker, KEYS[4] failed, KEYS[5] reaper lock
    ARGV[1] key prefix of job hashes   ARGV[2] lock owner   ARGV[3] lock ms
    ARGV[4] maxStalls                  ARGV[5] batch size
    ARGV[6] failed-set limit (rq_failed_jobs_limit)

  Output: { requeued, abandoned } or -1 when another worker holds the lock
]]
--@include "now"
--@include "trimFailed"
--@include "requeueOrAbandon"
local activeKey, waitKey, markerKey, failedKey, lockKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix = ARGV[1]
if not redis.call('SET', lockKey, ARGV[2], 'NX', 'PX', tonumber(ARGV[3])) then return -1 end
local now = nowMs()
local maxStalls = tonumber(ARGV[4])
local expired = redis.call('ZRANGEBYSCORE', activeKey, '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
local requeued, abandoned = 0, 0
for _, id in ipairs(expired) do
  redis.call('ZREM', activeKey, id)
  local jobKey = prefix .. 'job:' .. id
  if redis.call('EXISTS', jobKey) == 1 then
    if requeueOrAbandon(jobKey, id, waitKey, failedKey, maxStalls, now, 'lease expired', true, prefix, tonumber(ARGV[6])) == 1 then
      requeued = requeued + 1
    else
      abandoned = abandoned + 1
    end
  end
end
if requeued > 0 then redis.call('ZADD', markerKey, 0, '0') end
return { requeued, abandoned }
