-- Server time in milliseconds: every deadline and timestamp comes from Redis, never a client clock.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
