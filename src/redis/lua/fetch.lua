--[[
  A worker process's one round trip: end the jobs that finished since its last call, then claim up to
  `count` more from the queues it listens to, in the order given (that order is the priority).

  Ending is fenced: only the holder of a job's claim token may end it, and only while the job runs
  (status started, in the active set); a replay of the same call is a harmless no-op. A failure with a
  retry delay schedules the job again instead. Finished jobs expire after their results TTL (rttl),
  failed and stopped ones after their failure TTL (fttl); the failed set keeps the newest `failedLimit`.

  Claiming moves each id from the pending list to the active set and writes its claim in the same
  step: status started, a token, the owner (this worker process) and the start time. Nothing is
  claimed unless the owner's liveness stamp (its score in the queue's owners set, kept alive by its
  supervisor) is still in the future: a process whose stamp lapsed may have had its jobs handed to
  others. Scheduled jobs that are due are promoted first, and the reply says when the next one falls
  due. A replayed call (same requestId) returns the jobs the first one claimed instead of claiming more.

  Job events (job_started at claim, job_finished / job_failed at the end) are published on `channel`
  while anyone listens there.

  Input:
    KEYS, seven per listened queue, in priority order: wait, active, marker, delayed, owners, finished, failed
    ARGV[1] owner        name of the calling worker process
    ARGV[2] requestId    unique per call; claim tokens are requestId .. ':' .. n
    ARGV[3] count        most jobs to claim (0: only end jobs)
    ARGV[4] recordMs     how long a replayed call still finds what its first run claimed
    ARGV[5] failedLimit  failed-set size per queue (rq_failed_jobs_limit)
    ARGV[6] channel      realtime channel of job events
    ARGV[7] nFields      then that many job hash fields, returned for each claimed job (must include
                         method, attempts, site, name, user, doctype, docname; a job without `method` is gone)
    then per queue: its name, the key prefix of its job hashes, the number of its ended jobs, and for each:
      id, token, "f", result JSON                              finished
      id, token, "x" or "s", error JSON, retryMs, errors JSON  failed or stopped; retryMs > 0 schedules a
                                                               retry (failed only); errors "" keeps the history

  Output: one JSON string (one bulk reply is far cheaper to build and to parse than hundreds of small
  ones): [ status, msUntilNextScheduled or -1, [ one code per ended job, in order ],
           [ [ queueIndex, id, token, value1 .. valueN ], ... ] ]   (an empty list may come as {})
    status       OK, or OWNER_LOST (nothing claimed)
    ended jobs   OK, RETRY_SCHEDULED, REPLAYED (this token ended it already), LEASE_LOST, NO_JOB
    values       the fields asked for (false when absent), attempts already counting this claim
]]
--@include "codes"
--@include "now"
--@include "promoteDue"
--@include "trimFailed"
--@include "jobEvents"
local owner, requestId = ARGV[1], ARGV[2]
local count = tonumber(ARGV[3])
local recordMs = tonumber(ARGV[4])
local failedLimit = tonumber(ARGV[5])
local channel = ARGV[6]
local nFields = tonumber(ARGV[7])
local fields = {}
local at = {}
for i = 1, nFields do
  fields[i] = ARGV[7 + i]
  at[fields[i]] = i
end
local nQueues = #KEYS / 7

-- ZADD of score, member pairs, in slices that stay within Lua's unpack limit.
local function zaddAll(key, entries)
  for i = 1, #entries, 1000 do redis.call('ZADD', key, unpack(entries, i, math.min(i + 999, #entries))) end
end
local now = nowMs()
local listeners = hasListeners(channel)
local status, nextDue = CODE.OK, -1
local codes = {}
local jobs = {}
local function reply()
  return cjson.encode({ status, nextDue, codes, jobs })
end

-- Per queue: where its arguments start.
local queueArgs = {}
local a = 8 + nFields
for q = 1, nQueues do
  queueArgs[q] = a
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  for _ = 1, n do
    local outcome = ARGV[a + 2]
    a = a + ((outcome == 'f') and 4 or 6)
  end
end

-- 1. End the jobs that finished. First check each one (its token, and that it runs: status started and
-- in the active set, one ZMSCORE for the batch), then write the valid ones.
local EVENT_FIELDS = { 'site', 'method', 'name', 'user', 'attempts', 'doctype', 'docname', 'started' }
for q = 1, nQueues do
  local activeKey, delayedKey, finishedKey, failedKey = KEYS[q * 7 - 5], KEYS[q * 7 - 3], KEYS[q * 7 - 1], KEYS[q * 7]
  local base = queueArgs[q]
  local queueName, prefix = ARGV[base], ARGV[base + 1]
  local n = tonumber(ARGV[base + 2])
  local first = #codes
  local i = base + 3
  local entries, ids = {}, {}
  for k = 1, n do
    local e = { id = ARGV[i], token = ARGV[i + 1], outcome = ARGV[i + 2], payload = ARGV[i + 3], retryMs = 0, history = '' }
    if e.outcome == 'f' then
      i = i + 4
    else
      e.retryMs, e.history = tonumber(ARGV[i + 4]), ARGV[i + 5]
      i = i + 6
    end
    e.key = prefix .. 'job:' .. e.id
    e.h = redis.call('HMGET', e.key, 'token', 'status', 'rttl', 'fttl')
    entries[k] = e
    ids[k] = e.id
  end
  local scores = (n > 0) and redis.call('ZMSCORE', activeKey, unpack(ids)) or {}
  local running, finished, failedAny = {}, {}, false
  for k = 1, n do
    local e = entries[k]
    local h = e.h
    local code
    if not h[2] then
      code = CODE.NO_JOB
    elseif h[1] ~= e.token then
      code = CODE.LEASE_LOST
    elseif h[2] ~= 'started' or not scores[k] then
      local wanted = (e.outcome == 'f' and 'finished') or (e.outcome == 's' and 'stopped') or 'failed'
      if h[2] == wanted or (e.retryMs > 0 and h[2] == 'scheduled') then code = CODE.REPLAYED else code = CODE.LEASE_LOST end
    else
      running[#running + 1] = e.id
      local jobKey, outcome, payload, retryMs = e.key, e.outcome, e.payload, e.retryMs
      local event
      if listeners then
        local v = redis.call('HMGET', jobKey, unpack(EVENT_FIELDS))
        event = { queue = queueName }
        for x, name in ipairs(EVENT_FIELDS) do if v[x] then event[name] = v[x] end end
      end
      if e.history ~= '' then redis.call('HSET', jobKey, 'errors', e.history) end
      if outcome == 'x' and retryMs > 0 then
        redis.call('HSET', jobKey, 'status', 'scheduled', 'error', payload, 'runAt', now + retryMs)
        redis.call('HINCRBY', jobKey, 'retries', 1)
        redis.call('ZADD', delayedKey, now + retryMs, e.id)
        code = CODE.RETRY_SCHEDULED
      elseif outcome == 'f' then
        local ttlMs = (tonumber(h[3]) or 0) * 1000
        redis.call('HSET', jobKey, 'status', 'finished', 'ended', now, 'result', payload)
        redis.call('PEXPIRE', jobKey, ttlMs)
        finished[#finished + 1] = now + ttlMs
        finished[#finished + 1] = e.id
        code = CODE.OK
      else
        redis.call('HSET', jobKey, 'status', (outcome == 's') and 'stopped' or 'failed', 'ended', now, 'error', payload)
        redis.call('PEXPIRE', jobKey, (tonumber(h[4]) or 0) * 1000)
        -- No trim by age here: sites keep failures for different TTLs; readers skip expired ids.
        redis.call('ZADD', failedKey, now, e.id)
        failedAny = true
        code = CODE.OK
      end
      if event then
        local extra = { duration_ms = now - (tonumber(event.started) or now) }
        if outcome ~= 'f' then extra.error = eventError(payload) end
        publishJobEvent(channel, e.id, (outcome == 'f') and 'finished' or 'failed', event, extra)
      end
    end
    codes[first + k] = code
  end
  for x = 1, #running, 1000 do redis.call('ZREM', activeKey, unpack(running, x, math.min(x + 999, #running))) end
  if #finished > 0 then
    redis.call('ZREMRANGEBYSCORE', finishedKey, '-inf', now)
    zaddAll(finishedKey, finished)
  end
  if failedAny then trimFailed(failedKey, prefix, failedLimit) end
end

if count <= 0 then return reply() end

-- 2. A replayed call hands back what its first run claimed (still its own only while the token matches).
local replayed = false
for q = 1, nQueues do
  local prefix = ARGV[queueArgs[q] + 1]
  local prev = redis.call('GET', prefix .. 'claim:' .. requestId)
  if prev then
    replayed = true
    for entry in string.gmatch(prev, '[^\n]+') do
      local sep = string.find(entry, ' ', 1, true)
      local token, id = string.sub(entry, 1, sep - 1), string.sub(entry, sep + 1)
      local jobKey = prefix .. 'job:' .. id
      if redis.call('HGET', jobKey, 'token') == token then
        local v = redis.call('HMGET', jobKey, unpack(fields))
        local job = { q, id, token }
        for k = 1, nFields do job[k + 3] = v[k] end
        jobs[#jobs + 1] = job
      end
    end
  end
end
if replayed then return reply() end

-- 3. Claim.
local claimed = 0
local attemptsAt, methodAt = at['attempts'], at['method']
for q = 1, nQueues do
  local waitKey, activeKey, markerKey, delayedKey, ownersKey = KEYS[q * 7 - 6], KEYS[q * 7 - 5], KEYS[q * 7 - 4], KEYS[q * 7 - 3], KEYS[q * 7 - 2]
  local queueName, prefix = ARGV[queueArgs[q]], ARGV[queueArgs[q] + 1]
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
      local want = count - claimed
      local ids = redis.call('LPOP', waitKey, want)
      if ids then
        local active, record = {}, {}
        for _, id in ipairs(ids) do
          local jobKey = prefix .. 'job:' .. id
          local v = redis.call('HMGET', jobKey, unpack(fields))
          -- An id whose hash is gone (deleted by an operator) is dropped, not run.
          if v[methodAt] then
            claimed = claimed + 1
            local token = requestId .. ':' .. claimed
            local attempts = (tonumber(v[attemptsAt]) or 0) + 1
            v[attemptsAt] = tostring(attempts)
            redis.call('HSET', jobKey, 'status', 'started', 'token', token, 'worker', owner, 'started', now, 'attempts', attempts)
            active[#active + 1] = now
            active[#active + 1] = id
            record[#record + 1] = token .. ' ' .. id
            local job = { q, id, token }
            for k = 1, nFields do job[k + 3] = v[k] end
            jobs[#jobs + 1] = job
            if listeners then
              local f = { queue = queueName }
              for k, name in ipairs(fields) do if v[k] then f[name] = v[k] end end
              publishJobEvent(channel, id, 'started', f, nil)
            end
          end
        end
        if #active > 0 then
          zaddAll(activeKey, active)
          redis.call('SET', prefix .. 'claim:' .. requestId, table.concat(record, '\n'), 'PX', recordMs)
        end
        -- Keep the wake-up marker while work remains, so that other blocked workers wake too.
        if #ids == want and redis.call('LLEN', waitKey) > 0 then redis.call('ZADD', markerKey, 0, '0') end
      end
    end
  end
end
return reply()
