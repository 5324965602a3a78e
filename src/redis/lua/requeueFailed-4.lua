--[[
  Requeue a batch of failed jobs of one queue (see includes/retryFailedJob). Only jobs whose status is
  still "failed" are requeued; stopped jobs, and jobs that changed or went away since the caller listed
  them, are skipped.

  Input:
    KEYS[1] failed, KEYS[2] wait, KEYS[3] marker, KEYS[4] active
    ARGV[1] key prefix of job hashes   ARGV[2..] ids

  Output: the number of jobs requeued
]]
--@include "lanes"
--@include "codes"
--@include "retryFailedJob"
local failedKey, waitKey, markerKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix = ARGV[1]
local requeued = 0
for i = 2, #ARGV do
  if retryFailedJob(prefix, ARGV[i], waitKey, failedKey, activeKey, { failed = true }) == CODE.OK then
    requeued = requeued + 1
  end
end
if requeued > 0 then redis.call('ZADD', markerKey, 0, '0') end
return requeued
