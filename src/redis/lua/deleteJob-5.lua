--[[
  Delete one job that is not running: its hash, and its id from whichever structure holds it (a queued
  job's place in the wait list becomes a hole, see includes/holes). A running job (status started, or in
  the active set) is refused and left as it is: it must be stopped first.

  Input:
    KEYS[1] the list the job waits in (its site's lane, or the legacy wait list), KEYS[2] active, KEYS[3] finished, KEYS[4] failed, KEYS[5] delayed
    ARGV[1] key prefix of job hashes   ARGV[2] id
    ARGV[3] where the caller saw the id in the wait list (-1: not seen; then looked for near the ends)

  Output: { OK, { job hash field, value, ... } } deleted (the hash as it was)
          { NO_JOB }                        no such job (stray ids of it in the sets are removed; one left in
                                            the wait list is dropped by the worker that pops it)
          { WRONG_STATE, "started" }        running: nothing written
          { MOVED }                         queued, but not at or near the position given: nothing written
]]
--@include "lanes"
--@include "codes"
--@include "holes"
local waitKey, activeKey, finishedKey, failedKey, delayedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local jobKey = ARGV[1] .. 'job:' .. ARGV[2]
local id = ARGV[2]
local hint = tonumber(ARGV[3])
local status = redis.call('HGET', jobKey, 'status')
if redis.call('ZSCORE', activeKey, id) or status == 'started' then
  return { CODE.WRONG_STATE, 'started' }
end
if status == 'queued' then
  if not removeQueued(waitKey, id, hint) then return { CODE.MOVED } end
end
local hash = redis.call('HGETALL', jobKey)
redis.call('DEL', jobKey)
redis.call('ZREM', finishedKey, id)
redis.call('ZREM', failedKey, id)
redis.call('ZREM', delayedKey, id)
if #hash == 0 then return { CODE.NO_JOB } end
return { CODE.OK, hash }
