-- Holes in a wait list. Removing an id from the middle of a long list costs a pass over the list (LREM
-- compares every element: ~20 ms at 1,000,000 ids), so an operator's removal (purge, cancel, delete)
-- overwrites the id in place with HOLE instead (LSET: a walk over the list's nodes, ~12 us at any
-- depth). A worker that pops a hole drops it (no job hash has that name). Holes within HOLE_REACH of an
-- end are removed soon after, by LPOS/LREM calls that stop there (~1 ms each); only a list longer than
-- 2 x HOLE_REACH keeps holes, in its middle, until workers reach them. The same value is WAIT_HOLE in src/redis/keys.ts
-- (a unit test keeps the two equal).
local HOLE = '(removed)'
local HOLE_REACH = 25000
-- How far from where it was seen an id is looked for: the list shifts as workers pop its head and jobs
-- are pushed at its front.
local LOCATE_SPAN = 500

-- Where `id` is in the wait list now: first at `hint` (where the caller saw it), then within LOCATE_SPAN
-- of it; with no hint (< 0), within HOLE_REACH of either end. nil when not found.
local function locateInWait(waitKey, id, hint)
  if hint < 0 then
    return redis.call('LPOS', waitKey, id, 'MAXLEN', HOLE_REACH) or redis.call('LPOS', waitKey, id, 'RANK', -1, 'MAXLEN', HOLE_REACH) or nil
  end
  if redis.call('LINDEX', waitKey, hint) == id then return hint end
  local from = math.max(0, hint - LOCATE_SPAN)
  local near = redis.call('LRANGE', waitKey, from, hint + LOCATE_SPAN)
  for i = 1, #near do
    if near[i] == id then return from + i - 1 end
  end
  return nil
end

-- Turn the id at `position` into a hole, then remove one hole from the nearer end when the position is
-- within reach of it (the LREM stops at the first hole from that end, at the latest at this one).
local function holeAt(waitKey, position)
  redis.call('LSET', waitKey, position, HOLE)
  local len = redis.call('LLEN', waitKey)
  if position < HOLE_REACH then
    redis.call('LREM', waitKey, 1, HOLE)
  elseif len - position <= HOLE_REACH then
    redis.call('LREM', waitKey, -1, HOLE)
  end
end

-- Take a queued `id` out of a wait list or lane (a hole where it is), then settle the list (includes/lanes:
-- the caller includes "lanes" first). false when it is not where `hint` says (the caller answers MOVED and
-- looks again); true when it was taken out, or when, with no hint, it is not within reach of either end
-- (nothing to take out).
local function removeQueued(waitKey, id, hint)
  local at = locateInWait(waitKey, id, hint)
  if at then
    holeAt(waitKey, at)
    settleList(waitKey, 1)
    return true
  end
  return hint < 0
end

-- Remove up to `most` holes within HOLE_REACH of the head, or of the tail (`fromTail`): a scan of at most
-- the reach, then each removal moves up to a node of the list (~0.5 us). Returns how many were removed.
local function closeEndHoles(waitKey, fromTail, most)
  if fromTail and redis.call('LLEN', waitKey) <= HOLE_REACH then return 0 end
  local rank = fromTail and -1 or 1
  local found = redis.call('LPOS', waitKey, HOLE, 'RANK', rank, 'COUNT', most, 'MAXLEN', HOLE_REACH)
  if #found == 0 then return 0 end
  return redis.call('LREM', waitKey, rank * #found, HOLE)
end
