--[[
  Hand running jobs back to the front of their queue, each fenced by its claim token: a worker process
  uses it for jobs it claimed but will not run (prefetched when it stops), and for jobs it gives up when
  its supervisor went away. Mode "1" (crash) counts the hand-back as a crash, and a job past maxStalls
  fails as abandoned instead; "0" (the job is not to blame) counts nothing; "u" (the job never started)
  also takes back the attempt its claim counted. Jobs keep their order at the front of the queue.

  Input:
    KEYS[1] active, KEYS[2] wait, KEYS[3] marker, KEYS[4] failed
    ARGV[1] key prefix of job hashes   ARGV[2] mode "1" | "0" | "u"   ARGV[3] maxStalls   ARGV[4] reason
    ARGV[5] failed-set limit (rq_failed_jobs_limit)
    ARGV[6] failure TTL s of an abandoned job whose hash has no fttl (rq_job_failure_ttl)
    ARGV[7..] id, token pairs

  Output: one code per job: OK requeued; ABANDONED failed as abandoned; LEASE_LOST (token differs or not running)
]]
--@include "lanes"
--@include "codes"
--@include "now"
--@include "trimFailed"
--@include "history"
--@include "requeueOrAbandon"
local activeKey, waitKey, markerKey, failedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, mode, maxStalls, reason, failedLimit = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local failureTtl = tonumber(ARGV[6])
local now = nowMs()
local codes, requeued = {}, false
-- Last first: each goes to the front, so the first given ends up first.
for i = #ARGV - 1, 7, -2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local jobKey = prefix .. 'job:' .. id
  local code = CODE.LEASE_LOST
  if redis.call('HGET', jobKey, 'token') == token and redis.call('ZREM', activeKey, id) == 1 then
    if mode == 'u' then
      redis.call('HINCRBY', jobKey, 'attempts', -1)
      redis.call('HDEL', jobKey, 'started')
    end
    code = requeueOrAbandon(jobKey, id, waitKey, failedKey, maxStalls, now, reason, mode == '1', prefix, failedLimit, failureTtl)
    if code == CODE.OK then requeued = true end
  end
  codes[(i - 5) / 2] = code
end
if requeued then redis.call('ZADD', markerKey, 0, '0') end
return codes
