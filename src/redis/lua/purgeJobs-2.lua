--[[
  Delete a batch of queued jobs of one queue (bench purge-jobs): each id whose job is still queued (and
  not in the active set), and whose `event` field equals the filter when one is given, loses its hash
  and its place in the wait list. Jobs that started, finished or went away meanwhile are skipped.

  Input:
    KEYS[1] wait, KEYS[2] active
    ARGV[1] key prefix of job hashes
    ARGV[2] "1" to filter on event, else "0"   ARGV[3] the event (ignored without the filter)
    ARGV[4..] ids

  Output: the number of jobs deleted
]]
local waitKey, activeKey = KEYS[1], KEYS[2]
local prefix, byEvent, event = ARGV[1], ARGV[2] == '1', ARGV[3]
local removed, count = {}, 0
for i = 4, #ARGV do
  local id = ARGV[i]
  local jobKey = prefix .. 'job:' .. id
  if not removed[id] and redis.call('HGET', jobKey, 'status') == 'queued' and not redis.call('ZSCORE', activeKey, id)
      and (not byEvent or redis.call('HGET', jobKey, 'event') == event) then
    redis.call('DEL', jobKey)
    removed[id] = true
    count = count + 1
  end
end
if count == 0 then return 0 end
if count <= 16 then
  for id in pairs(removed) do redis.call('LREM', waitKey, 0, id) end
else
  -- Many ids: one pass over the list instead of one LREM (itself a pass) per id.
  local keep = {}
  for _, id in ipairs(redis.call('LRANGE', waitKey, 0, -1)) do
    if not removed[id] then keep[#keep + 1] = id end
  end
  redis.call('DEL', waitKey)
  for i = 1, #keep, 1000 do
    redis.call('RPUSH', waitKey, unpack(keep, i, math.min(i + 999, #keep)))
  end
end
return count
