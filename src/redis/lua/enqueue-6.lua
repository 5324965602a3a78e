--[[
  Accept one or more jobs into a queue in one atomic step: job hashes, the push to their site's lane
  (includes/lanes; or the delayed set, for a job due later) and the wake-up marker are written together, so a job is either
  fully accepted or not at all. The duplicate check and the push are one step: two racing enqueues
  of one id make one job.

  Input:
    KEYS[1] wait      the legacy list of pending ids (only read: for the queue's length)
    KEYS[2] marker    zset a blocked worker waits on
    KEYS[3] finished  zset of finished ids (a finished job with a reused id is replaced)
    KEYS[4] failed    zset of failed ids (likewise)
    KEYS[5] delayed   zset of scheduled ids -> run-at (ms)
    KEYS[6] progress  hash of a bulk request written in several calls: next (entries written so far),
                      digest (what the request holds); any key of this queue when ARGV[6] is ""
    Each job's hash is ARGV[10] .. 'job:' .. id, in the slot of the keys above (they share the prefix's
    hash tag), as every other script finds a job; passing them as keys would double the call's size.

    ARGV[1] "1" to push at the front of the queue, else "0"
    ARGV[2] max queue length (max_queued_jobs), 0 for no limit
    ARGV[3] incoming: the jobs of the whole request still to be written, this call's included; refused
            when the queue length plus these would pass the limit (a bulk enqueue fits whole or not at all).
            "" = independent entries: the call carries several single-job requests (concurrent enqueue()
            calls sent together), and each is checked and written exactly as if it had been a call of its
            own, in ARGV order: the limit per job, against the length the jobs before it left. Such a call
            is untracked, and takes neither ARGV[1] = "1" nor a starvation threshold.
    ARGV[4] starvation threshold: push at the front when the queue holds more jobs than this; 0 = off
    ARGV[5] delay in ms before the jobs are due (0 = now)
    ARGV[6] progress from: the request's entries before this call ("" = a request of one call, untracked)
    ARGV[7] progress to: ARGV[6] plus this call's jobs
    ARGV[8] digest of the request (a resume of a different request is refused)
    ARGV[9] seconds the progress hash is kept after this call
    ARGV[10] the queue's key prefix (keys.ts)
    ARGV[11] max ids of one site's lane (max_queued_jobs_per_site), 0 for no limit: checked as ARGV[2] is
    ARGV[12] n: number of field/value pairs common to every job, then the 2n pairs; or "n,m" when the m
            arguments of an index section follow the pairs (dashboard_index_keys; queue/kwargs-index.ts):
            keepMs, refreshMs, then per index entry: the job's place in this call (from 1), the index key
    then, per job: id, kwargs JSON, nonce ("" when the id was generated)

  The kwargs index: each job written (OK) goes in its index keys, scored by when it is due (now, or its
  run-at when delayed). Each index key named in the call costs one PTTL besides its ZADDs: when the key
  would expire less than keepMs after the last job due (a new key has no expiry), its expiry is moved to
  keepMs + refreshMs past that (so about once per refreshMs; never shortened), and, unless the call made
  the key, its entries due more than keepMs ago are trimmed, at most TRIM_MAX of the oldest; a trim also
  runs on 1 call in TRIM_EVERY (by the call's clock).

  A tracked call writes only when the request's earlier calls all did (next = ARGV[6]), and moves next to
  ARGV[7] in the same step: the entries written are always a prefix of the request, so a request cut
  short (OOM, connection lost) resumes exactly where it stopped, and a replayed call writes nothing.

  Output: { ALL_OK, number of jobs } when every job was written (not for independent entries); else a
  list with one code per job:
    OK          queued (or scheduled)
    REPLAYED    already accepted by this same request (a replayed call): nothing written
    JOB_EXISTS  a job with this id is queued, scheduled or running: nothing written
  or { QUEUE_FULL, queue length } when the queue is full: nothing written;
  or { SITE_FULL, lane length } when the site's lane is full: nothing written;
  or { OUT_OF_ORDER, next } when an earlier call of the request is not written: nothing written;
  or { RESUME_MISMATCH, next } when the progress hash belongs to another request: nothing written.
  Independent entries (ARGV[3] = ""): one code per job, QUEUE_FULL or SITE_FULL for a job a limit
  refused, then one more element, the queue length after the call.
  A tracked call that next already passed (a replay) answers REPLAYED for every job. So a tracked call
  does not look up a job with a generated id (127 random bits: only a replay could find it); a job with
  an id of the user's is always looked up.
]]
--@include "lanes"
--@include "codes"
--@include "now"
local waitKey, markerKey, finishedKey, failedKey, delayedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local progressKey = KEYS[6]
local atFront = ARGV[1] == '1'
local maxLen, incoming = tonumber(ARGV[2]), tonumber(ARGV[3])
local independent = ARGV[3] == ''
local starvedAbove = tonumber(ARGV[4])
local delayMs = tonumber(ARGV[5])
local progressFrom, progressTo, digest = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local prefix = ARGV[10]
local maxSite = tonumber(ARGV[11])
local nCommon = tonumber(ARGV[12])
local nIndex = 0
if not nCommon then
  local nPairs, nEntries = string.match(ARGV[12], '^(%d+),(%d+)$')
  nCommon, nIndex = tonumber(nPairs), tonumber(nEntries)
end
local common = {}
for i = 13, 12 + nCommon * 2 do common[#common + 1] = ARGV[i] end
local indexAt = 13 + nCommon * 2
local base = indexAt + nIndex
local nJobs = (#ARGV - base + 1) / 3

if progressFrom then
  local record = redis.call('HMGET', progressKey, 'next', 'digest')
  local written = tonumber(record[1]) or 0
  if record[2] and record[2] ~= digest then return { CODE.RESUME_MISMATCH, written } end
  if written >= progressTo then
    local replayed = {}
    for j = 1, nJobs do replayed[j] = CODE.REPLAYED end
    return replayed
  end
  if written ~= progressFrom then return { CODE.OUT_OF_ORDER, written } end
end

if independent and (atFront or starvedAbove > 0 or progressFrom) then
  return redis.error_reply('ERR enqueue: independent entries take no atFront, starvation threshold or progress')
end

local len = queueLength(prefix)
-- Ids in each site's lane, read when first needed, plus what this call pushed there.
local siteLens = {}
local function laneLen(site)
  local n = siteLens[site]
  if not n then
    n = redis.call('LLEN', prefix .. 'lane:' .. site)
    siteLens[site] = n
  end
  return n
end
if not independent then
  if maxLen > 0 and len + incoming > maxLen then return { CODE.QUEUE_FULL, len } end
  if maxSite > 0 and nJobs > 0 and delayMs == 0 then
    local site = siteOfId(ARGV[base])
    if laneLen(site) + incoming > maxSite then return { CODE.SITE_FULL, laneLen(site) } end
  end
  if starvedAbove > 0 and len > starvedAbove then atFront = true end
end

local now = nowMs()
local runAt = now + delayMs
local codes = {}
local pushIds = {}
-- The fields every job of the call stores, built once; each job's own go after them (up to `nFields`).
local fields = { 'status', 'queued', 'enq', tostring(now) }
if delayMs > 0 then fields = { 'status', 'scheduled', 'runAt', tostring(runAt), 'enq', tostring(now) } end
for _, value in ipairs(common) do fields[#fields + 1] = value end
local nShared = #fields
local allOk = true
-- At the front, jobs are pushed last-first so that the batch keeps its own order there.
local first, last, step = 1, nJobs, 1
if atFront then first, last, step = nJobs, 1, -1 end
local tracked = progressFrom ~= nil
local jobPrefix = prefix .. 'job:'
local nPush = 0
local call = redis.call
for j = first, last, step do
  local a = base + (j - 1) * 3
  local id, kwargs, nonce = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local jobKey = jobPrefix .. id
  local site = independent and maxSite > 0 and delayMs == 0 and siteOfId(id)
  if independent and maxLen > 0 and len + nPush >= maxLen then
    -- Refused by the limit, as this job's own call would have been: nothing written for it.
    codes[j] = CODE.QUEUE_FULL
    allOk = false
  elseif site and laneLen(site) >= maxSite then
    codes[j] = CODE.SITE_FULL
    allOk = false
  else
    local status = nil
    if nonce ~= '' or not tracked then status = call('HGET', jobKey, 'status') end
    if status == 'queued' or status == 'started' or status == 'scheduled' then
      -- A generated id (no nonce) that exists can only be this call replayed after a lost reply.
      if nonce == '' or redis.call('HGET', jobKey, 'nonce') == nonce then
        codes[j] = CODE.REPLAYED
      else
        codes[j] = CODE.JOB_EXISTS
      end
      allOk = false
    else
      if status then
        redis.call('DEL', jobKey)
        redis.call('ZREM', finishedKey, id)
        redis.call('ZREM', failedKey, id)
      end
      -- Empty kwargs are not stored (a reader takes a missing field as {}): a small hash stays small.
      local nFields = nShared
      if kwargs ~= '{}' then fields[nFields + 1] = 'kwargs'; fields[nFields + 2] = kwargs; nFields = nFields + 2 end
      if nonce ~= '' then fields[nFields + 1] = 'nonce'; fields[nFields + 2] = nonce; nFields = nFields + 2 end
      call('HSET', jobKey, unpack(fields, 1, nFields))
      if delayMs > 0 then
        call('ZADD', delayedKey, runAt, id)
      else
        nPush = nPush + 1
        pushIds[nPush] = id
        if site then siteLens[site] = siteLens[site] + 1 end
      end
      codes[j] = CODE.OK
    end
  end
end
pushQueued(prefix, pushIds, atFront)
-- A due-now job wakes a worker; a delayed one wakes the workers so they shorten their wait to it.
if nPush > 0 or delayMs > 0 then redis.call('ZADD', markerKey, 0, '0') end
if nIndex > 0 then
  local TRIM_EVERY, TRIM_MAX = 16, 1000
  local keepMs, refreshMs = tonumber(ARGV[indexAt]), tonumber(ARGV[indexAt + 1])
  local lifeMs = delayMs + keepMs
  local sampled = now % TRIM_EVERY == 0
  local cutoff = '(' .. (now - keepMs)
  local kept = {}
  for e = indexAt + 2, indexAt + nIndex - 1, 2 do
    local j = tonumber(ARGV[e])
    if codes[j] == CODE.OK then
      local indexKey = ARGV[e + 1]
      call('ZADD', indexKey, runAt, ARGV[base + (j - 1) * 3])
      if not kept[indexKey] then
        kept[indexKey] = true
        -- -1: no expiry, so the ZADD above made the key (nothing to trim yet).
        local ttl = call('PTTL', indexKey)
        if ttl < lifeMs then call('PEXPIRE', indexKey, lifeMs + refreshMs) end
        if ttl >= 0 and (ttl < lifeMs or sampled) then
          local old = call('ZCOUNT', indexKey, '-inf', cutoff)
          if old > 0 then call('ZREMRANGEBYRANK', indexKey, 0, math.min(old, TRIM_MAX) - 1) end
        end
      end
    end
  end
end
if progressFrom then
  redis.call('HSET', progressKey, 'next', progressTo, 'digest', digest)
  redis.call('EXPIRE', progressKey, ARGV[9])
end
if independent then
  codes[nJobs + 1] = len + nPush
  return codes
end
-- Every job written: one code says so, instead of a list as long as the call.
if allOk then return { CODE.ALL_OK, nJobs } end
return codes
