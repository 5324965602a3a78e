--[[
  Hand a running job back to the front of its queue, fenced by its claim token: used by a worker process
  for jobs it claimed but will not run (it is stopping), and for jobs it gives up when its supervisor
  went away. Mode "1" (crash) counts the hand-back as a crash, and a job past maxStalls fails as
  abandoned instead; "0" (the job is not to blame) counts nothing; "u" (the job never started) also
  takes back the attempt its claim counted.

  Input:
    KEYS[1] active, KEYS[2] wait, KEYS[3] marker, KEYS[4] failed
    ARGV[1] key prefix of job hashes   ARGV[2] id   ARGV[3] token
    ARGV[4] mode "1" | "0" | "u"        ARGV[5] maxStalls   ARGV[6] reason
    ARGV[7] failed-set limit (rq_failed_jobs_limit)

  Output: OK requeued; ABANDONED failed as abandoned; LEASE_LOST (token differs or not running)
]]
--@include "codes"
--@include "now"
--@include "trimFailed"
--@include "requeueOrAbandon"
local activeKey, waitKey, markerKey, failedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, id, token = ARGV[1], ARGV[2], ARGV[3]
local jobKey = prefix .. 'job:' .. id
if redis.call('HGET', jobKey, 'token') ~= token then return CODE.LEASE_LOST end
if redis.call('ZREM', activeKey, id) == 0 then return CODE.LEASE_LOST end
if ARGV[4] == 'u' then
  redis.call('HINCRBY', jobKey, 'attempts', -1)
  redis.call('HDEL', jobKey, 'started')
end
local code = requeueOrAbandon(jobKey, id, waitKey, failedKey, tonumber(ARGV[5]), nowMs(), ARGV[6],
  ARGV[4] == '1', prefix, tonumber(ARGV[7]))
if code == CODE.OK then redis.call('ZADD', markerKey, 0, '0') end
return code
