--[[
  Read only: the ids of one window of a queue's structure whose id starts with a text and whose job has
  a field of a given value, for the dashboard's find by method= and site= (src/monitor/find-scan.ts).
  The window and its jobs' fields are read here, so that only the matches cross the network: a client
  reading 20,000 methods itself spends some 10 µs on each. One call reads at most one window (~1,000 ids).

  Input:
    KEYS[1] the structure: a pending list (lane or legacy wait list) or a sorted set
    ARGV[1] key prefix of job hashes
    ARGV[2] "list", "zset" (lowest score first) or "zrev" (highest score first)
    ARGV[3] start, ARGV[4] stop: ranks of the window (inclusive)
    ARGV[5] what a matching id starts with ("" = any id)
    ARGV[6] field of the job hash to compare ("" = none), ARGV[7] its value

  Output: { ids read, matching id, ... }
]]
local key, prefix, kind = KEYS[1], ARGV[1], ARGV[2]
local start, stop = tonumber(ARGV[3]), tonumber(ARGV[4])
local idStart, field, value = ARGV[5], ARGV[6], ARGV[7]
local ids
if kind == 'list' then
  ids = redis.call('LRANGE', key, start, stop)
elseif kind == 'zrev' then
  ids = redis.call('ZREVRANGE', key, start, stop)
else
  ids = redis.call('ZRANGE', key, start, stop)
end
local out = { #ids }
local n = #idStart
for _, id in ipairs(ids) do
  if n == 0 or string.sub(id, 1, n) == idStart then
    if field == '' or redis.call('HGET', prefix .. 'job:' .. id, field) == value then out[#out + 1] = id end
  end
end
return out
