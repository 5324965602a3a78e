--[[
  Cancel one job that has not started: a queued job leaves the wait list (its place becomes a hole, see
  includes/holes), a scheduled one the delayed set. The record stays, with status "canceled" and the
  time in "ended", for the job's failure TTL (fttl), then expires; it is in no list. Any other status is
  refused and left as it is.

  Input:
    KEYS[1] the list the job waits in (its site's lane, or the legacy wait list), KEYS[2] delayed, KEYS[3] active
    ARGV[1] key prefix of job hashes   ARGV[2] id   ARGV[3] ttl seconds when the job has no fttl
    ARGV[4] where the caller saw the id in the wait list (-1: not seen; then looked for near the ends)

  Output: { OK, { job hash field, value, ... } } canceled
          { NO_JOB }                        no such job
          { WRONG_STATE, status }           not queued or scheduled: nothing written
          { MOVED }                         queued, but not at or near the position given: nothing written
]]
--@include "lanes"
--@include "codes"
--@include "now"
--@include "holes"
local waitKey, delayedKey, activeKey = KEYS[1], KEYS[2], KEYS[3]
local jobKey = ARGV[1] .. 'job:' .. ARGV[2]
local id = ARGV[2]
local hint = tonumber(ARGV[4])
local status = redis.call('HGET', jobKey, 'status')
if not status then return { CODE.NO_JOB } end
if redis.call('ZSCORE', activeKey, id) then return { CODE.WRONG_STATE, 'started' } end
if status == 'queued' then
  if not removeQueued(waitKey, id, hint) then return { CODE.MOVED } end
elseif status == 'scheduled' then
  redis.call('ZREM', delayedKey, id)
else
  return { CODE.WRONG_STATE, status }
end
redis.call('HDEL', jobKey, 'token', 'worker')
redis.call('HSET', jobKey, 'status', 'canceled', 'ended', nowMs())
local ttl = tonumber(redis.call('HGET', jobKey, 'fttl')) or 0
if ttl <= 0 then ttl = tonumber(ARGV[3]) end
redis.call('PEXPIRE', jobKey, ttl * 1000)
return { CODE.OK, redis.call('HGETALL', jobKey) }
