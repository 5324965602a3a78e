--[[
  One step of bench purge-jobs over one queue's wait list: examine up to `window` ids from a cursor and
  delete the queued jobs of one site among them (whose `event` field equals the filter, when one is
  given), at most `maxDelete` of them. A deleted job loses its hash and its place in the list becomes a
  hole (includes/holes): a step never reads or rewrites the whole list, so it costs the same on a list
  of 1,000,000 ids as on one of 1,000. Jobs that started, finished or went away meanwhile are skipped.

  The cursor is an anchor: the next id to examine (the first id past the examined ones that is not a
  hole) and where it was. Positions move while a purge runs (workers pop the head, jobs are pushed at
  the front), so the anchor is looked for near where it was; nothing is ever inserted between two ids,
  so whatever lies before it was examined. An anchor gone from the head region (popped by a worker,
  with everything before it) starts the examination again at the head: a few ids are seen twice,
  harmlessly.

  Input:
    KEYS[1] a lane (lane:<site>) or the legacy wait list, KEYS[2] active
    ARGV[1] key prefix of job hashes   ARGV[2] the site's id prefix ("site||")
    ARGV[3] "1" to filter on event, else "0"   ARGV[4] the event (ignored without the filter)
    ARGV[5] position of the cursor     ARGV[6] anchor: the id seen there ("" = none: start at the position)
    ARGV[7] window: most ids examined  ARGV[8] maxDelete: most jobs deleted

  Output: { OK, deleted, next position, next anchor, done }
            next anchor is "" when none was found within 4 windows past the examined ids (only holes
            there): the next step then starts at the position, unanchored
            done is 1 when the examination reached the end of the list
          { MOVED, 0 }  the anchor is no longer near its position: nothing written; start again at the head
]]
--@include "lanes"
--@include "codes"
--@include "holes"
local waitKey, activeKey = KEYS[1], KEYS[2]
local prefix, sitePrefix, byEvent, event = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4]
local position, anchor = tonumber(ARGV[5]), ARGV[6]
local window, maxDelete = tonumber(ARGV[7]), tonumber(ARGV[8])

local start = position
if anchor ~= '' then
  start = locateInWait(waitKey, anchor, position)
  if not start then
    if position > LOCATE_SPAN then return { CODE.MOVED, 0 } end
    start = 0
  end
end

-- One more id than the window: the first candidate for the next anchor.
local ids = redis.call('LRANGE', waitKey, start, start + window)
local siteLen = #sitePrefix
local examined, deleted = 0, 0
for i = 1, math.min(#ids, window) do
  if deleted == maxDelete then break end
  examined = i
  local id = ids[i]
  if id ~= HOLE and string.sub(id, 1, siteLen) == sitePrefix then
    local jobKey = prefix .. 'job:' .. id
    if redis.call('HGET', jobKey, 'status') == 'queued' and not redis.call('ZSCORE', activeKey, id)
        and (not byEvent or redis.call('HGET', jobKey, 'event') == event) then
      redis.call('DEL', jobKey)
      redis.call('LSET', waitKey, start + i - 1, HOLE)
      deleted = deleted + 1
    end
  end
end

settleList(waitKey, deleted)

-- The next anchor: the first id past the examined ones that is not a hole, in what was read, then in up
-- to 4 more windows. A read that comes back short has reached the end of the list.
local at, rest, skip = start + examined, ids, examined
for round = 0, 4 do
  if round > 0 then
    rest, skip = redis.call('LRANGE', waitKey, at, at + window - 1), 0
  end
  for i = skip + 1, #rest do
    if rest[i] ~= HOLE then return { CODE.OK, deleted, at + i - skip - 1, rest[i], 0 } end
  end
  at = at + #rest - skip
  if #rest < ((round == 0) and window + 1 or window) then return { CODE.OK, deleted, at, '', 1 } end
end
return { CODE.OK, deleted, at, '', 0 }
