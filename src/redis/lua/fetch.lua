--[[
  A worker process's one round trip: report the jobs it started from its prefetched ones, end the jobs
  that finished since its last call, then claim up to `count` more from the queues it listens to, in the
  order given (that order is the priority).

  Ending is fenced: only the holder of a job's claim token may end it, and only while the job runs
  (status started, in the active set); a replay of the same call is a harmless no-op. A failure with a
  retry delay schedules the job again instead. Finished jobs expire after the results TTL, failed and
  stopped ones after the failure TTL, both given by the caller (its site's config); the failed set keeps
  the newest `failedLimit`.

  Claiming moves each id from the pending list to the active set and writes its claim in the same
  step: status started, a token, the owner (this worker process) and the claim time. Nothing is
  claimed unless the owner's liveness stamp (its score in the queue's owners set, kept alive by its
  supervisor) is still in the future: a process whose stamp lapsed may have had its jobs handed to
  others. Scheduled jobs that are due are promoted first, and the reply says when the next one falls
  due. A replayed call (same requestId) returns the jobs the first one claimed instead of claiming more.

  Job events go out on `channel` while anyone listens there: job_started for the first `startNow` jobs
  claimed (the process starts them at once) and for each job it reports started (one it had prefetched),
  job_finished / job_failed when a job ends.

  Input:
    KEYS, seven per listened queue, in priority order: wait, active, marker, delayed, owners, finished, failed
    ARGV[1] owner        name of the calling worker process
    ARGV[2] requestId    unique per call; claim tokens are requestId .. ':' .. n
    ARGV[3] count        most jobs to claim (0: claim none)
    ARGV[4] startNow     how many of them start at once (the others are prefetched)
    ARGV[5] recordMs     how long a replayed call still finds what its first run claimed
    ARGV[6] failedLimit  failed-set size per queue (rq_failed_jobs_limit)
    ARGV[7] channel      the bench's job events channel (bw:{<bench_id>}:events) (ids are `site||...`: the site is their prefix)
    then per queue: its name, the key prefix of its job hashes, the number of its ended jobs and each:
      id, token, "f", result JSON, ttl s                              finished
      id, token, "x" or "s", error JSON, ttl s, retryMs, errors JSON  failed or stopped; retryMs > 0 schedules
                                                                      a retry (failed only); errors "" keeps the history
    then the number of its jobs started from prefetched ones, and their ids

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
--@include "codes"
--@include "now"
--@include "promoteDue"
--@include "trimFailed"
--@include "jobEvents"
--@include "claimFields"
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
local listeners = hasListeners(channel)
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

local a = 8
for q = 1, nQueues do
  local activeKey, delayedKey, finishedKey, failedKey = KEYS[q * 7 - 5], KEYS[q * 7 - 3], KEYS[q * 7 - 1], KEYS[q * 7]
  local queueName, prefix = ARGV[a], ARGV[a + 1]
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  -- Read the ended jobs' entries.
  local entries = {}
  for k = 1, n do
    if ARGV[a + 2] == 'f' then
      entries[k] = a
      a = a + 5
    else
      entries[k] = a
      a = a + 7
    end
  end
  -- 1. Prefetched jobs that started (their job_started, while anyone listens).
  local nStarted = tonumber(ARGV[a])
  if listeners then
    for k = 1, nStarted do
      local id = ARGV[a + k]
      local f = eventFields(prefix .. 'job:' .. id, queueName)
      if f.method then publishJobEvent(channel, id, 'started', f, nil) end
    end
  end
  a = a + 1 + nStarted

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
  for k = 1, n do
    local e = entries[k]
    local id, token, outcome, payload, ttlMs = ARGV[e], ARGV[e + 1], ARGV[e + 2], ARGV[e + 3], tonumber(ARGV[e + 4]) * 1000
    local retryMs, history = 0, ''
    if outcome ~= 'f' then retryMs, history = tonumber(ARGV[e + 5]), ARGV[e + 6] end
    local jobKey = prefix .. 'job:' .. id
    local code
    -- Its token, and in the active set: it runs, and it is ours (the status need not be read).
    if redis.call('HGET', jobKey, 'token') ~= token or not inActive[k] then
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
  if #running > 0 then inSlices('ZREM', activeKey, running) end
  if #finished > 0 then inSlices('ZADD', finishedKey, finished) end
  if failedAny then trimFailed(failedKey, prefix, failedLimit) end
end

if count <= 0 then return reply() end

-- 3. A replayed call hands back what its first run claimed (still its own only while the token matches).
local replayed = false
a = 8
for q = 1, nQueues do
  local prefix = ARGV[a + 1]
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  for _ = 1, n do a = a + ((ARGV[a + 2] == 'f') and 5 or 7) end
  a = a + 1 + tonumber(ARGV[a])
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

-- 4. Claim.
local claimed = 0
a = 8
for q = 1, nQueues do
  local waitKey, activeKey, markerKey, delayedKey, ownersKey = KEYS[q * 7 - 6], KEYS[q * 7 - 5], KEYS[q * 7 - 4], KEYS[q * 7 - 3], KEYS[q * 7 - 2]
  local queueName, prefix = ARGV[a], ARGV[a + 1]
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  for _ = 1, n do a = a + ((ARGV[a + 2] == 'f') and 5 or 7) end
  a = a + 1 + tonumber(ARGV[a])
  local head = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  if head[2] and tonumber(head[2]) <= now then
    promoteDue(delayedKey, waitKey, prefix, now)
    head = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  end
  if head[2] then
    local inMs = math.max(1, tonumber(head[2]) - now)
    if nextDue < 0 or inMs < nextDue then nextDue = inMs end
  end
  if claimed < count and status == CODE.OK then
    local stamp = redis.call('ZSCORE', ownersKey, owner)
    if not stamp or tonumber(stamp) < now then
      status = CODE.OWNER_LOST
    else
      local active, record = {}, {}
      local want, popped, dropped = 0, 0, 0
      repeat
        want = count - claimed
        local ids = redis.call('LPOP', waitKey, want) or {}
        popped = #ids
        for _, id in ipairs(ids) do
          local jobKey = prefix .. 'job:' .. id
          local v = redis.call('HMGET', jobKey, unpack(CLAIM_FIELDS))
          -- An id whose hash is gone (a hole an operator's removal left, or a job deleted while queued)
          -- is dropped, not run, and another id is popped in its place.
          if v[METHOD_AT] then
            claimed = claimed + 1
            local token = requestId .. ':' .. claimed
            local attempts = (tonumber(v[ATTEMPTS_AT]) or 0) + 1
            v[ATTEMPTS_AT] = tostring(attempts)
            redis.call('HSET', jobKey, 'status', 'started', 'token', token, 'worker', owner, 'started', now, 'attempts', attempts)
            active[#active + 1] = now
            active[#active + 1] = id
            record[#record + 1] = token .. ' ' .. id
            jobs[#jobs + 1] = { q, id, token, unpack(v, 1, nFields) }
            if listeners and claimed <= startNow then
              local f = { queue = queueName }
              for k, name in ipairs(CLAIM_FIELDS) do if v[k] then f[name] = v[k] end end
              publishJobEvent(channel, id, 'started', f, nil)
            end
          else
            dropped = dropped + 1
          end
        end
      until claimed >= count or popped < want or dropped >= MAX_DROPPED
      if #active > 0 then
        inSlices('ZADD', activeKey, active)
        redis.call('SET', prefix .. 'claim:' .. requestId, table.concat(record, '\n'), 'PX', recordMs)
      end
      -- Keep the wake-up marker while work remains, so that other blocked workers wake too.
      if popped == want and redis.call('LLEN', waitKey) > 0 then
        redis.call('ZADD', markerKey, 0, '0')
        if claimed < count then more = true end
      end
    end
  end
end
return reply()
