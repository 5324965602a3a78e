--[[
  Liveness stamps of worker processes: each process's name in a queue's owners set, scored by the time
  (Redis clock) until which its jobs of that queue are its own. A supervisor registers each worker
  process it starts, then renews the stamps of those alive, well within the stamp's length, whatever
  the jobs are doing (a job may keep its process's event loop busy for minutes). A stamp that lapsed is
  lost for good: the process's jobs may have been handed to others, so it may claim nothing more, and
  renewing does not bring it back.

  Input:
    KEYS[1] owners   zset worker process name -> stamp deadline (ms)
    ARGV[1] stampMs  length of a stamp
    ARGV[2] mode     "register" (new names) or "renew"
    ARGV[3..] names

  Output: the names whose stamp was lost (renew; always empty for register)
]]
--@include "now"
local ownersKey = KEYS[1]
local now = nowMs()
local deadline = now + tonumber(ARGV[1])
local register = ARGV[2] == 'register'
local lost = {}
for i = 3, #ARGV do
  local name = ARGV[i]
  if register then
    redis.call('ZADD', ownersKey, deadline, name)
  else
    local stamp = redis.call('ZSCORE', ownersKey, name)
    if stamp and tonumber(stamp) >= now then
      redis.call('ZADD', ownersKey, 'XX', deadline, name)
    else
      lost[#lost + 1] = name
    end
  end
end
return lost
