--[[
  Delete one job that is not running: its hash, and its id from whichever structure holds it. A running
  job (status started, or in the active set) is refused and left as it is: it must be stopped first.

  Input:
    KEYS[1] wait, KEYS[2] active, KEYS[3] finished, KEYS[4] failed, KEYS[5] delayed
    ARGV[1] key prefix of job hashes   ARGV[2] id

  Output: { OK, { job hash field, value, ... } } deleted (the hash as it was)
          { NO_JOB }                        no such job (stray ids of it are removed)
          { WRONG_STATE, "started" }        running: nothing written
]]
--@include "codes"
local waitKey, activeKey, finishedKey, failedKey, delayedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local jobKey = ARGV[1] .. 'job:' .. ARGV[2]
local id = ARGV[2]
if redis.call('ZSCORE', activeKey, id) or redis.call('HGET', jobKey, 'status') == 'started' then
  return { CODE.WRONG_STATE, 'started' }
end
local hash = redis.call('HGETALL', jobKey)
redis.call('DEL', jobKey)
redis.call('LREM', waitKey, 0, id)
redis.call('ZREM', finishedKey, id)
redis.call('ZREM', failedKey, id)
redis.call('ZREM', delayedKey, id)
if #hash == 0 then return { CODE.NO_JOB } end
return { CODE.OK, hash }
