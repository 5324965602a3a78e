--[[
  After a worker process ended (crashed, killed, or exited), hand every job it still held back to the
  front of its queue and drop its liveness stamp. Mode "1" counts a crash for each job (past maxStalls it
  fails as abandoned); "0" counts nothing (the process was killed on purpose: a timeout of another job,
  stop-job, a cold shutdown). Its timed-out or stopped jobs were ended before this call.

  Input:
    KEYS[1] active, KEYS[2] wait, KEYS[3] marker, KEYS[4] failed, KEYS[5] owners
    ARGV[1] key prefix of job hashes   ARGV[2] worker process name   ARGV[3] mode "1" | "0"
    ARGV[4] maxStalls   ARGV[5] reason   ARGV[6] failed-set limit (rq_failed_jobs_limit)
    ARGV[7] failure TTL s of an abandoned job whose hash has no fttl (rq_job_failure_ttl)

  Output: { requeued, { ids failed as abandoned } }
]]
--@include "lanes"
--@include "codes"
--@include "now"
--@include "trimFailed"
--@include "history"
--@include "requeueOrAbandon"
local activeKey, waitKey, markerKey, failedKey, ownersKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, owner, countStall = ARGV[1], ARGV[2], ARGV[3] == '1'
local maxStalls, reason, failedLimit, failureTtl = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local now = nowMs()
local requeued, abandoned = 0, {}
for _, id in ipairs(redis.call('ZRANGE', activeKey, 0, -1)) do
  local jobKey = prefix .. 'job:' .. id
  if redis.call('HGET', jobKey, 'worker') == owner then
    redis.call('ZREM', activeKey, id)
    if requeueOrAbandon(jobKey, id, waitKey, failedKey, maxStalls, now, reason, countStall, prefix, failedLimit, failureTtl) == CODE.OK then
      requeued = requeued + 1
    else
      abandoned[#abandoned + 1] = id
    end
  end
end
if requeued > 0 then redis.call('ZADD', markerKey, 0, '0') end
redis.call('ZREM', ownersKey, owner)
return { requeued, abandoned }
