--[[
  A worker process's one round trip: report the jobs it started from its prefetched ones, end the jobs
  that finished since its last call, then claim up to `count` more from the queues it listens to, in the
  order given (that order is the priority).

  Ending is fenced: only the holder of a job's claim token may end it, and only while the job runs
  (status started, in the active set); a replay of the same call is a harmless no-op. A failure with a
  retry delay schedules the job again instead. Finished jobs expire after the results TTL, failed and
  stopped ones after the failure TTL, both given by the caller (its site's config); the failed set keeps
  the newest `failedLimit`.

  Claiming serves the sites' lanes in turns, weighted, passing over a site at its max_concurrent_jobs
  (includes/lanes), and moves each id from its lane to the active set and writes its claim in the same
  step: status started, a token, the owner (this worker process) and the claim time. Nothing is
  claimed unless the owner's liveness stamp (its score in the queue's owners set, kept alive by its
  supervisor) is still in the future: a process whose stamp lapsed may have had its jobs handed to
  others. Scheduled jobs that are due are promoted first, and the reply says when the next one falls
  due. A replayed call (same requestId) returns the jobs the first one claimed instead of claiming more.
  A paused queue (its `paused` key exists: monitor/pause.ts) is not claimed from; the rest goes on for it
  (ends, promotion of due jobs), and its empty share of the claim lets the worker block as on an empty queue.

  Each call counts the jobs it ended per queue and outcome in the queue's per-minute history
  (includes/history: one HINCRBY per queue and outcome, not per job); a scheduled retry counts as failed.

  Job events go out on `channel` while anyone listens there: job_started for the first `startNow` jobs
  claimed (the process starts them at once) and for each job it reports started (one it had prefetched),
  job_finished / job_failed when a job ends.

  Input:
    KEYS, seven per listened queue, in priority order: wait, active, marker, delayed, owners, finished, failed
    ARGV[1] owner        name of the calling worker process
    ARGV[2] requestId    unique per call; claim tokens are requestId .. ':' .. n (n from tokenBase + 1)
    ARGV[3] count        most jobs to claim (0: claim none)
    ARGV[4] startNow     how many of them start at once (the others are prefetched)
    ARGV[5] recordMs     how long a replayed call still finds what its first run claimed
    ARGV[6] failedLimit  failed-set size per queue (rq_failed_jobs_limit)
    ARGV[7] channel      the bench's job events channel (bw:{<bench_id>}:events) (ids are `site||...`: the site is their prefix)
    ARGV[8] publish      "always": publish events without asking PUBSUB NUMSUB first (a Redis Cluster: the
                         subscribers may be connected to another node, and NUMSUB counts only this one's)
    ARGV[9] tokenBase    claim tokens count on from this (a Cluster splits one claim into a call per queue:
                         the later calls go on numbering from what the earlier ones claimed; else 0)
    ARGV[10] historyDays days a day's per-minute history is kept after that day (dashboard_history_days)
    ARGV[11..], per queue: its name, the key prefix of its job hashes, the number of its ended jobs and each:
      id, token, "f", result JSON, ttl s                              finished
      id, token, "x" or "s", error JSON, ttl s, retryMs, errors JSON  failed or stopped; retryMs > 0 schedules
                                                                      a retry (failed only); errors "" keeps the history
    then the number of its jobs started from prefetched ones, and their ids
    then its fairness rules (includes/lanes): the default queue_weight and max_concurrent_jobs (-1: no
      cap), the number of sites with other values, and for each: site, weight, cap

  Output: one JSON string (one bulk reply is far cheaper to build and to parse than hundreds of small
  ones): [ status, msUntilNextScheduled or -1, [ one code per ended job, in order ],
           [ [ queueIndex, id, token, value of each CLAIM_FIELDS ], ... ], listeners, more ]
    (an empty list may come as {})
    status       OK, or OWNER_LOST (nothing claimed)
    ended jobs   OK, RETRY_SCHEDULED, REPLAYED (this token ended it already), LEASE_LOST, NO_JOB
    values       false where absent; attempts already counting this claim
    listeners    1 when someone listens on `channel` (the process then reports its prefetched starts)
    more         1 when fewer than `count` were claimed only because MAX_DROPPED ids without a job were
                 popped (holes of a purge, see includes/holes): the wait list still holds ids, call again
]]
--@include "lanes"
--@include "holes"
--@include "codes"
--@include "now"
--@include "promoteDue"
--@include "trimFailed"
--@include "jobEvents"
--@include "claimFields"
--@include "history"
local owner, requestId = ARGV[1], ARGV[2]
local count, startNow = tonumber(ARGV[3]), tonumber(ARGV[4])
local recordMs, failedLimit, channel = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local nFields = #CLAIM_FIELDS
local METHOD_AT, ATTEMPTS_AT
for i, field in ipairs(CLAIM_FIELDS) do
  if field == 'method' then METHOD_AT = i elseif field == 'attempts' then ATTEMPTS_AT = i end
end
local nQueues = #KEYS / 7
local now = nowMs()
local listeners = ARGV[8] == 'always' or hasListeners(channel)
local status, nextDue = CODE.OK, -1
-- Dropped ids (no job hash) one call pops at most before it gives up filling `count`.
local MAX_DROPPED = 1000
local more = false
local codes, jobs = {}, {}
local function reply()
  return cjson.encode({ status, nextDue, codes, jobs, listeners and 1 or 0, more and 1 or 0 })
end

-- ZADD or ZREM of many arguments, in slices that stay within Lua's unpack limit.
local function inSlices(command, key, args)
  for i = 1, #args, 1000 do redis.call(command, key, unpack(args, i, math.min(i + 999, #args))) end
end

local EVENT_FIELDS = { 'method', 'name', 'user', 'attempts', 'doctype', 'docname', 'started' }
-- The job's fields for its event (nil while nobody listens).
local function eventFields(jobKey, queueName)
  if not listeners then return nil end
  local v = redis.call('HMGET', jobKey, unpack(EVENT_FIELDS))
  local f = { queue = queueName }
  for x, name in ipairs(EVENT_FIELDS) do if v[x] then f[name] = v[x] end end
  return f
end

-- Each queue's part of ARGV, read once: its name, job-hash prefix, ended jobs (ARGV index of each entry),
-- prefetched jobs that started, and its fairness rules.
local sections = {}
local tokenBase, historyDays = tonumber(ARGV[9]), tonumber(ARGV[10])
local a = 11
for q = 1, nQueues do
  local section = { name = ARGV[a], prefix = ARGV[a + 1], entries = {} }
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  for k = 1, n do
    section.entries[k] = a
    a = a + ((ARGV[a + 2] == 'f') and 5 or 7)
  end
  section.startedAt, section.nStarted = a + 1, tonumber(ARGV[a])
  a = a + 1 + section.nStarted
  local rules = { weight = tonumber(ARGV[a]), cap = tonumber(ARGV[a + 1]), bySite = {} }
  local nRules = tonumber(ARGV[a + 2])
  a = a + 3
  for _ = 1, nRules do
    rules.bySite[ARGV[a]] = { tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]) }
    a = a + 3
  end
  section.rules = rules
  sections[q] = section
end

for q = 1, nQueues do
  local activeKey, delayedKey, finishedKey, failedKey = KEYS[q * 7 - 5], KEYS[q * 7 - 3], KEYS[q * 7 - 1], KEYS[q * 7]
  local section = sections[q]
  local queueName, prefix, entries = section.name, section.prefix, section.entries
  local n = #entries
  -- 1. Prefetched jobs that started (their job_started, while anyone listens).
  if listeners then
    for k = 0, section.nStarted - 1 do
      local id = ARGV[section.startedAt + k]
      local f = eventFields(prefix .. 'job:' .. id, queueName)
      if f.method then publishJobEvent(channel, id, 'started', f, nil) end
    end
  end

  -- 2. End the jobs that finished: check each (its token, and that it runs: status started and in the
  -- active set), then write the valid ones.
  local inActive
  if n == 1 then
    inActive = { redis.call('ZSCORE', activeKey, ARGV[entries[1]]) }
  elseif n > 1 then
    local ids = {}
    for k = 1, n do ids[k] = ARGV[entries[k]] end
    inActive = redis.call('ZMSCORE', activeKey, unpack(ids))
  end
  local running, finished, failedAny = {}, {}, false
  -- Jobs ended by this call, per outcome (f, x, s), for the queue's per-minute history.
  local ends = {}
  -- A job under its site's cap ended: blocked workers wake, as the site may have jobs it held back.
  local capFreed = false
  for k = 1, n do
    local e = entries[k]
    local id, token, outcome, payload, ttlMs = ARGV[e], ARGV[e + 1], ARGV[e + 2], ARGV[e + 3], tonumber(ARGV[e + 4]) * 1000
    local retryMs, history = 0, ''
    if outcome ~= 'f' then retryMs, history = tonumber(ARGV[e + 5]), ARGV[e + 6] end
    local jobKey = prefix .. 'job:' .. id
    local code
    -- Its token, and in the active set: it runs, and it is ours (the status need not be read).
    local own = redis.call('HMGET', jobKey, 'token', 'cap')
    if own[1] ~= token or not inActive[k] then
      local h = redis.call('HMGET', jobKey, 'token', 'status')
      local wanted = (outcome == 'f' and 'finished') or (outcome == 's' and 'stopped') or 'failed'
      if not h[2] then
        code = CODE.NO_JOB
      elseif h[1] == token and (h[2] == wanted or (retryMs > 0 and h[2] == 'scheduled')) then
        code = CODE.REPLAYED
      else
        code = CODE.LEASE_LOST
      end
    else
      running[#running + 1] = id
      ends[outcome] = (ends[outcome] or 0) + 1
      if own[2] then
        uncountRunning(prefix, jobKey, id)
        capFreed = true
      end
      local event = eventFields(jobKey, queueName)
      if history ~= '' then redis.call('HSET', jobKey, 'errors', history) end
      if outcome == 'x' and retryMs > 0 then
        redis.call('HSET', jobKey, 'status', 'scheduled', 'error', payload, 'runAt', now + retryMs)
        redis.call('HINCRBY', jobKey, 'retries', 1)
        redis.call('ZADD', delayedKey, now + retryMs, id)
        code = CODE.RETRY_SCHEDULED
      elseif outcome == 'f' then
        redis.call('HSET', jobKey, 'status', 'finished', 'ended', now, 'result', payload)
        redis.call('PEXPIRE', jobKey, ttlMs)
        finished[#finished + 1] = now + ttlMs
        finished[#finished + 1] = id
        code = CODE.OK
      else
        redis.call('HSET', jobKey, 'status', (outcome == 's') and 'stopped' or 'failed', 'ended', now, 'error', payload)
        redis.call('PEXPIRE', jobKey, ttlMs)
        -- No trim by age here: sites keep failures for different TTLs; readers skip expired ids.
        redis.call('ZADD', failedKey, now, id)
        failedAny = true
        code = CODE.OK
      end
      if event then
        local extra = { duration_ms = now - (tonumber(event.started) or now) }
        if outcome ~= 'f' then extra.error = eventError(payload) end
        publishJobEvent(channel, id, (outcome == 'f') and 'finished' or 'failed', event, extra)
      end
    end
    codes[#codes + 1] = code
  end
  -- Expired entries of the finished set are dropped by the reaper (reap-6.lua).
  if #running > 0 then
    inSlices('ZREM', activeKey, running)
    countEnds(prefix, now, ends, historyDays)
  end
  if #finished > 0 then inSlices('ZADD', finishedKey, finished) end
  if failedAny then trimFailed(failedKey, prefix, failedLimit) end
  if capFreed then redis.call('ZADD', KEYS[q * 7 - 4], 0, '0') end
end

if count <= 0 then return reply() end

-- 3. A replayed call hands back what its first run claimed (still its own only while the token matches).
local replayed = false
for q = 1, nQueues do
  local prefix = sections[q].prefix
  local prev = redis.call('GET', prefix .. 'claim:' .. requestId)
  if prev then
    replayed = true
    for entry in string.gmatch(prev, '[^\n]+') do
      local sep = string.find(entry, ' ', 1, true)
      local token, id = string.sub(entry, 1, sep - 1), string.sub(entry, sep + 1)
      local jobKey = prefix .. 'job:' .. id
      if redis.call('HGET', jobKey, 'token') == token then
        local v = redis.call('HMGET', jobKey, unpack(CLAIM_FIELDS))
        jobs[#jobs + 1] = { q, id, token, unpack(v) }
      end
    end
  end
end
if replayed then return reply() end

-- 4. Claim: first the legacy wait list (ids from before lanes), then the sites' lanes in turns.
local claimed = 0
-- Claim one popped id of queue q; false for an id whose hash is gone (a hole an operator's removal
-- left, or a job deleted while queued): it is dropped, not run.
local function claimOne(q, prefix, queueName, id, capped, active, record)
  local jobKey = prefix .. 'job:' .. id
  local v = redis.call('HMGET', jobKey, unpack(CLAIM_FIELDS))
  if not v[METHOD_AT] then return false end
  claimed = claimed + 1
  local token = requestId .. ':' .. (tokenBase + claimed)
  local attempts = (tonumber(v[ATTEMPTS_AT]) or 0) + 1
  v[ATTEMPTS_AT] = tostring(attempts)
  if capped then
    redis.call('HSET', jobKey, 'status', 'started', 'token', token, 'worker', owner, 'started', now, 'attempts', attempts, 'cap', '1')
  else
    redis.call('HSET', jobKey, 'status', 'started', 'token', token, 'worker', owner, 'started', now, 'attempts', attempts)
  end
  active[#active + 1] = now
  active[#active + 1] = id
  record[#record + 1] = token .. ' ' .. id
  jobs[#jobs + 1] = { q, id, token, unpack(v, 1, nFields) }
  if listeners and claimed <= startNow then
    local f = { queue = queueName }
    for k, name in ipairs(CLAIM_FIELDS) do if v[k] then f[name] = v[k] end end
    publishJobEvent(channel, id, 'started', f, nil)
  end
  return true
end

-- Serve the lanes of queue q in turns, up to `want` jobs: the ring's head site gets up to its weight's
-- worth of jobs in its turn (what it has left of it is kept in `turns` between calls), then goes to the
-- ring's tail; a site at its max_concurrent_jobs is passed over. A site alone in the ring takes what it
-- has (no one to be fair to). Returns the jobs claimed, the popped ids without a job and the number of
-- sites left in the ring.
local function claimFromLanes(q, prefix, queueName, rules, want, active, record)
  local ringKey, turnsKey, runningKey = prefix .. 'sites', prefix .. 'turns', prefix .. 'running'
  local got, dropped = 0, 0
  -- The ring's length, read only when it holds more than one site (one read for the usual lone site).
  local head = redis.call('LRANGE', ringKey, 0, 1)
  local nSites = #head
  if nSites > 1 then nSites = redis.call('LLEN', ringKey) end
  -- Sites in a row that gave nothing (at their cap): a whole round of them ends the claim.
  local passed = 0
  local first = true
  while got < want and nSites > 0 and passed < nSites and dropped < MAX_DROPPED do
    local site = first and head[1] or redis.call('LINDEX', ringKey, 0)
    first = false
    local rule = rules.bySite[site]
    local weight, cap = rules.weight, rules.cap
    if rule then weight, cap = rule[1], rule[2] end
    local take, credit = want - got, weight
    if nSites > 1 then
      credit = tonumber(redis.call('HGET', turnsKey, site)) or weight
      take = math.min(take, credit)
    end
    if cap >= 0 then take = math.min(take, cap - (tonumber(redis.call('HGET', runningKey, site)) or 0)) end
    local lane = prefix .. 'lane:' .. site
    local n, popped = 0, 0
    if take > 0 then
      local ids = redis.call('LPOP', lane, take) or {}
      popped = #ids
      -- Ids counted in `queued` that left the lane: the claimed ones and those whose hash is gone (not
      -- holes: a hole was counted out when it was made).
      local counted = 0
      for _, id in ipairs(ids) do
        if claimOne(q, prefix, queueName, id, cap >= 0, active, record) then
          n = n + 1
        else
          dropped = dropped + 1
          if id ~= HOLE then counted = counted + 1 end
        end
      end
      counted = counted + n
      if counted > 0 then redis.call('DECRBY', prefix .. 'queued', counted) end
      if n > 0 then
        if cap >= 0 then redis.call('HINCRBY', runningKey, site, n) end
      end
      got = got + n
    end
    if popped > 0 and popped == take and redis.call('LLEN', lane) > 0 then
      -- The lane holds more: the site's turn goes on (credit left) or passes to the next site.
      if nSites > 1 then
        credit = credit - n
        if credit > 0 and n > 0 then
          redis.call('HSET', turnsKey, site, credit)
        else
          redis.call('LMOVE', ringKey, ringKey, 'LEFT', 'RIGHT')
          redis.call('HDEL', turnsKey, site)
        end
      end
      passed = 0
    elseif popped > 0 then
      -- The lane is empty: the site leaves the ring until it has jobs again.
      redis.call('LPOP', ringKey)
      redis.call('HDEL', turnsKey, site)
      nSites = nSites - 1
      passed = 0
    else
      -- At its cap (or an empty lane, which the ring should not hold): the next site's turn.
      if take > 0 and redis.call('LLEN', lane) == 0 then
        redis.call('LPOP', ringKey)
        redis.call('HDEL', turnsKey, site)
        nSites = nSites - 1
      else
        if nSites > 1 then
          redis.call('LMOVE', ringKey, ringKey, 'LEFT', 'RIGHT')
          redis.call('HDEL', turnsKey, site)
        end
        passed = passed + 1
      end
    end
  end
  return got, dropped, nSites
end

for q = 1, nQueues do
  local waitKey, activeKey, markerKey, delayedKey, ownersKey = KEYS[q * 7 - 6], KEYS[q * 7 - 5], KEYS[q * 7 - 4], KEYS[q * 7 - 3], KEYS[q * 7 - 2]
  local section = sections[q]
  local queueName, prefix = section.name, section.prefix
  local head = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  if head[2] and tonumber(head[2]) <= now then
    promoteDue(delayedKey, waitKey, prefix, now)
    head = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  end
  if head[2] then
    local inMs = math.max(1, tonumber(head[2]) - now)
    if nextDue < 0 or inMs < nextDue then nextDue = inMs end
  end
  -- A paused queue is passed over (one EXISTS per queue of a call that claims).
  if claimed < count and status == CODE.OK and redis.call('EXISTS', prefix .. 'paused') == 0 then
    local stamp = redis.call('ZSCORE', ownersKey, owner)
    if not stamp or tonumber(stamp) < now then
      status = CODE.OWNER_LOST
    else
      local active, record = {}, {}
      local dropped = 0
      -- The legacy wait list, while it holds ids.
      local want, popped = 0, 0
      repeat
        want = count - claimed
        local ids = redis.call('LPOP', waitKey, want) or {}
        popped = #ids
        for _, id in ipairs(ids) do
          if not claimOne(q, prefix, queueName, id, false, active, record) then dropped = dropped + 1 end
        end
      until claimed >= count or popped < want or dropped >= MAX_DROPPED
      local legacyLeft = popped == want and redis.call('LLEN', waitKey) > 0
      local sitesLeft = -1
      if claimed < count and dropped < MAX_DROPPED then
        local _, laneDropped, nSites = claimFromLanes(q, prefix, queueName, section.rules, count - claimed, active, record)
        dropped, sitesLeft = dropped + laneDropped, nSites
      end
      if #active > 0 then
        inSlices('ZADD', activeKey, active)
        redis.call('SET', prefix .. 'claim:' .. requestId, table.concat(record, '\n'), 'PX', recordMs)
      end
      -- Keep the wake-up marker while claimable work remains, so that other blocked workers wake too.
      if claimed >= count or dropped >= MAX_DROPPED then
        if sitesLeft < 0 then sitesLeft = redis.call('LLEN', prefix .. 'sites') end
        if legacyLeft or sitesLeft > 0 then
          redis.call('ZADD', markerKey, 0, '0')
          if claimed < count then more = true end
        end
      end
    end
  end
end
return reply()
