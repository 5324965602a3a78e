--[[
  Retry one failed or stopped job: back at the end of its queue as queued (see includes/retryFailedJob).
  Fenced: the status is checked here, in the same step; a job of any other status is left as it is.

  Input:
    KEYS[1] failed, KEYS[2] wait, KEYS[3] marker, KEYS[4] active
    ARGV[1] key prefix of job hashes   ARGV[2] id

  Output: { OK, { job hash field, value, ... } } requeued
          { NO_JOB }                        no such job
          { WRONG_STATE, status }           not failed or stopped: nothing written
]]
--@include "lanes"
--@include "codes"
--@include "retryFailedJob"
local failedKey, waitKey, markerKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, id = ARGV[1], ARGV[2]
local code, status = retryFailedJob(prefix, id, waitKey, failedKey, activeKey, { failed = true, stopped = true })
if code ~= CODE.OK then return { code, status } end
redis.call('ZADD', markerKey, 0, '0')
return { CODE.OK, redis.call('HGETALL', prefix .. 'job:' .. id) }
