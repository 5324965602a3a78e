--[[
  Accept one or more jobs into a queue in one atomic step: job hashes, the pending push and the
  wake-up marker are written together, so a job is either fully queued or not at all.

  Input:
    KEYS[1] wait      list of pending job ids
    KEYS[2] marker    zset a blocked worker waits on
    KEYS[3] finished  zset of finished ids (a finished job with a reused id is replaced)
    KEYS[4] failed    zset of failed ids (likewise)
    KEYS[5..] job hash of each job, in ARGV order

    ARGV[1] "1" to push at the front of the queue, else "0"
    ARGV[2] max queue length before refusing, 0 for no limit
    ARGV[3] n: number of field/value pairs common to every job, then the 2n pairs
    then, per job: id, kwargs JSON, nonce ("" when the id was generated)

  Output: a list with one code per job:
     1 queued
     2 already queued by this same request (a replayed call): nothing written
    -1 a job with this id is queued or running: nothing written
  or the single number -10 when the queue is full (nothing written), followed by its length.
]]
--@include "now"
local waitKey, markerKey, finishedKey, failedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local atFront = ARGV[1] == '1'
local maxLen = tonumber(ARGV[2])
local nCommon = tonumber(ARGV[3])
local common = {}
for i = 4, 3 + nCommon * 2 do common[#common + 1] = ARGV[i] end
local base = 4 + nCommon * 2

if maxLen > 0 then
  local len = redis.call('LLEN', waitKey)
  if len >= maxLen then return { -10, len } end
end

local now = nowMs()
local codes = {}
local pushed = 0
-- At the front, jobs are pushed last-first so that the batch keeps its own order there.
local first, last, step = 5, #KEYS, 1
if atFront then first, last, step = #KEYS, 5, -1 end
for j = first, last, step do
  local jobKey = KEYS[j]
  local a = base + (j - 5) * 3
  local id, kwargs, nonce = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local status = redis.call('HGET', jobKey, 'status')
  if status == 'queued' or status == 'started' then
    if nonce ~= '' and redis.call('HGET', jobKey, 'nonce') == nonce then
      codes[j - 4] = 2
    else
      codes[j - 4] = -1
    end
  else
    if status then
      redis.call('DEL', jobKey)
      redis.call('ZREM', finishedKey, id)
      redis.call('ZREM', failedKey, id)
    end
    redis.call('HSET', jobKey, 'status', 'queued', 'created', now, 'kwargs', kwargs, unpack(common))
    if nonce ~= '' then redis.call('HSET', jobKey, 'nonce', nonce) end
    if atFront then redis.call('LPUSH', waitKey, id) else redis.call('RPUSH', waitKey, id) end
    pushed = pushed + 1
    codes[j - 4] = 1
  end
end
if pushed > 0 then redis.call('ZADD', markerKey, 0, '0') end
return codes
