--[[
  Renew the leases of running jobs by compare-and-set on each claim's token: a job whose token changed
  (its lease expired and the reaper gave it to someone else) is not renewed and is reported lost.

  Input:
    KEYS[1] active   zset id -> lease deadline (ms)
    ARGV[1] leaseMs
    ARGV[2] key prefix of the queue's job hashes
    ARGV[3..] id, token pairs

  Output: list of the ids whose lease is lost
]]
--@include "now"
local activeKey = KEYS[1]
local deadline = nowMs() + tonumber(ARGV[1])
local prefix = ARGV[2]
local lost = {}
for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', prefix .. 'job:' .. id, 'token') == token
      and redis.call('ZSCORE', activeKey, id) then
    redis.call('ZADD', activeKey, 'XX', deadline, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
