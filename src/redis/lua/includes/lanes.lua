-- Per-site lanes of a queue: each site's pending ids wait in their own list, `<prefix>lane:<site>`,
-- FIFO (atFront pushes at its front), and the ring `<prefix>sites` lists the sites whose lane holds ids,
-- in turn order. A claim serves the ring's head site for up to its weight's worth of jobs, then moves it
-- to the tail (fetch.lua): one site's flood never starves the others. `<prefix>queued` counts the ids of
-- every lane (holes excluded), so the queue's length needs no walk over the sites.
-- Invariant, kept by every write here: a site is in the ring once exactly while its lane is not empty.

-- The site of a job id ("site||rest"); "" for an id without one.
local function siteOfId(id)
  local sep = string.find(id, '||', 1, true)
  if sep then return string.sub(id, 1, sep - 1) end
  return ''
end

-- The prefix and site of a lane's key, or nil for another list (the legacy wait list).
local function laneParts(listKey)
  return string.match(listKey, '^(.*}:)lane:(.*)$')
end

-- Push the ids of one site to its lane, at its end (or its front, in the order given: the last id
-- given ends up first), entering the site in the ring when its lane was empty.
local function pushToLane(prefix, site, ids, front)
  local lane = prefix .. 'lane:' .. site
  local command = front and 'LPUSH' or 'RPUSH'
  local len = 0
  for i = 1, #ids, 1000 do len = redis.call(command, lane, unpack(ids, i, math.min(i + 999, #ids))) end
  if len == #ids then redis.call('RPUSH', prefix .. 'sites', site) end
  redis.call('INCRBY', prefix .. 'queued', #ids)
end

-- Push ids of any sites to their lanes, each site's in the order given.
local function pushQueued(prefix, ids, front)
  if #ids == 0 then return end
  local first = siteOfId(ids[1])
  local groups, order = nil, nil
  for i = 2, #ids do
    local site = siteOfId(ids[i])
    if site ~= first and not groups then
      local before = {}
      for k = 1, i - 1 do before[k] = ids[k] end
      groups, order = { [first] = before }, { first }
    end
    if groups then
      if not groups[site] then
        groups[site] = {}
        order[#order + 1] = site
      end
      local group = groups[site]
      group[#group + 1] = ids[i]
    end
  end
  if not groups then return pushToLane(prefix, first, ids, front) end
  for _, site in ipairs(order) do pushToLane(prefix, site, groups[site], front) end
end

-- After `n` real ids left list `listKey` other than by a claim (cancel, delete, purge): count them out
-- of the queue length when it is a lane, and take its site out of the ring when the lane is empty.
local function settleList(listKey, n)
  local prefix, site = laneParts(listKey)
  if not prefix then return end
  if n > 0 then redis.call('DECRBY', prefix .. 'queued', n) end
  if redis.call('LLEN', listKey) == 0 then
    redis.call('LREM', prefix .. 'sites', 0, site)
    redis.call('HDEL', prefix .. 'turns', site)
  end
end

-- The queue's length: its lanes' ids and the legacy wait list's.
local function queueLength(prefix)
  return (tonumber(redis.call('GET', prefix .. 'queued')) or 0) + redis.call('LLEN', prefix .. 'wait')
end

-- A job leaves the active set: when its claim counted against its site's max_concurrent_jobs (cap=1 in
-- its hash), count it out of the site's running jobs.
local function uncountRunning(prefix, jobKey, id)
  if redis.call('HGET', jobKey, 'cap') then
    redis.call('HDEL', jobKey, 'cap')
    local site = siteOfId(id)
    if redis.call('HINCRBY', prefix .. 'running', site, -1) <= 0 then redis.call('HDEL', prefix .. 'running', site) end
  end
end
