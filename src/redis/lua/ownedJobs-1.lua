--[[
  The running jobs of one worker process in one queue, with their claim tokens: read by its supervisor
  after the process died, to find the jobs it ran (a timed-out or stopped job is named by its token).

  Input:
    KEYS[1] active
    ARGV[1] key prefix of job hashes   ARGV[2] worker process name

  Output: { id, token, id, token, ... }
]]
local activeKey = KEYS[1]
local prefix, owner = ARGV[1], ARGV[2]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', activeKey, 0, -1)) do
  local h = redis.call('HMGET', prefix .. 'job:' .. id, 'worker', 'token')
  if h[1] == owner and h[2] then
    out[#out + 1] = id
    out[#out + 1] = h[2]
  end
end
return out
