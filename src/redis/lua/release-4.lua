--[[
  Hand a running job back to the front of its queue (fenced by the claim's token): used on cold
  shutdown and when a job's child process died under it. With countStall = "1" the hand-back counts as
  a crash, and a job past maxStalls fails as abandoned instead.

  Input:
    KEYS[1] active, KEYS[2] wait, KEYS[3] marker, KEYS[4] failed
    ARGV[1] key prefix of job hashes   ARGV[2] id   ARGV[3] token
    ARGV[4] countStall "1" | "0"        ARGV[5] maxStalls   ARGV[6] reason
    ARGV[7] failed-set limit (rq_failed_jobs_limit)

  Output: 1 requeued; 0 failed as abandoned; -1 lease lost (token differs or not active)
]]
--@include "now"
--@include "trimFailed"
--@include "requeueOrAbandon"
local activeKey, waitKey, markerKey, failedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, id, token = ARGV[1], ARGV[2], ARGV[3]
local jobKey = prefix .. 'job:' .. id
if redis.call('HGET', jobKey, 'token') ~= token then return -1 end
if redis.call('ZREM', activeKey, id) == 0 then return -1 end
local requeued = requeueOrAbandon(jobKey, id, waitKey, failedKey, tonumber(ARGV[5]), nowMs(), ARGV[6],
  ARGV[4] == '1', prefix, tonumber(ARGV[7]))
if requeued == 1 then redis.call('ZADD', markerKey, 0, '0') end
return requeued
