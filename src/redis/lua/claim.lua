--[[
  Claim up to `count` jobs from the listened queues, in the order given (that order is the priority).
  The id moves from the pending list to the active zset inside this script, and the lease (owner token
  plus a server-timed deadline) is written in the same step: no claimed job exists only in client memory.

  A replayed call (same request id, e.g. re-sent by the client after a reconnect) returns the jobs the
  first call claimed instead of claiming more.

  Scheduled jobs that are due are first promoted from each queue's delayed set to its pending list
  (in the same script), and the reply says when the next scheduled job falls due, so an idle worker
  waits no longer than that.

  Input:
    KEYS, four per queue: wait, active, marker, delayed
    ARGV[1] count       most jobs to claim
    ARGV[2] leaseMs     lease length
    ARGV[3] worker      worker name, stored on the job
    ARGV[4] requestId   unique per call; job tokens are requestId .. ":" .. n
    ARGV[5..] per queue: the key prefix of that queue's job hashes

  Output: { msUntilNextScheduled or -1, { queueIndex (1-based), id, token, { field, value, ... } }, ... }
]]
--@include "now"
--@include "promoteDue"
local count = tonumber(ARGV[1])
local leaseMs = tonumber(ARGV[2])
local worker = ARGV[3]
local requestId = ARGV[4]
local nQueues = #KEYS / 4
local out = { -1 }

-- A replayed call: hand back what the first call claimed (still ours only if the token still matches).
local replayed = false
for q = 1, nQueues do
  local prefix = ARGV[4 + q]
  local prev = redis.call('GET', prefix .. 'claim:' .. requestId)
  if prev then
    replayed = true
    for entry in string.gmatch(prev, '[^\n]+') do
      local sep = string.find(entry, ' ', 1, true)
      local id, token = string.sub(entry, sep + 1), string.sub(entry, 1, sep - 1)
      local jobKey = prefix .. 'job:' .. id
      if redis.call('HGET', jobKey, 'token') == token then
        out[#out + 1] = { q, id, token, redis.call('HGETALL', jobKey) }
      end
    end
  end
end
if replayed then return out end

local now = nowMs()
local nextDue = -1
for q = 1, nQueues do
  local waitKey, activeKey, markerKey, delayedKey = KEYS[q * 4 - 3], KEYS[q * 4 - 2], KEYS[q * 4 - 1], KEYS[q * 4]
  local prefix = ARGV[4 + q]
  local claimed = {}
  promoteDue(delayedKey, waitKey, prefix, now)
  local head = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  if head[2] then
    local inMs = math.max(1, tonumber(head[2]) - now)
    if nextDue < 0 or inMs < nextDue then nextDue = inMs end
  end
  while #out - 1 < count do
    local id = redis.call('LPOP', waitKey)
    if not id then break end
    local jobKey = prefix .. 'job:' .. id
    -- An id whose hash is gone (deleted by an operator) is dropped, not run.
    if redis.call('EXISTS', jobKey) == 1 then
      local token = requestId .. ':' .. #out
      redis.call('ZADD', activeKey, now + leaseMs, id)
      redis.call('HSET', jobKey, 'status', 'started', 'token', token, 'worker', worker, 'started', now)
      redis.call('HINCRBY', jobKey, 'attempts', 1)
      out[#out + 1] = { q, id, token, redis.call('HGETALL', jobKey) }
      claimed[#claimed + 1] = token .. ' ' .. id
    end
  end
  if #claimed > 0 then
    redis.call('SET', prefix .. 'claim:' .. requestId, table.concat(claimed, '\n'), 'PX', leaseMs)
  end
  -- Keep the wake-up marker while work remains, so other blocked workers wake too.
  if redis.call('LLEN', waitKey) > 0 then redis.call('ZADD', markerKey, 0, '0') end
end
out[1] = nextDue
return out
