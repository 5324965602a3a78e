--[[
  Return the jobs of dead worker processes to the front of their site's lane, and drop expired entries of
  the finished set (their job hashes expired on their own). When it looked at every running job, it also
  sets each site's count of running jobs under a max_concurrent_jobs cap right (the `running` hash). A process is dead when its
  liveness stamp lapsed (its supervisor died, hung, or lost Redis for longer than a stamp) or when it has
  none. Each hand-back counts a crash; past maxStalls the job fails as abandoned. One runner at a time
  across all supervisors: the script first takes a lock with SET NX PX and does nothing when another
  holds it. Stamps that lapsed are dropped once every running job was looked at.

  Input:
    KEYS[1] active, KEYS[2] wait, KEYS[3] marker, KEYS[4] failed, KEYS[5] reaper lock, KEYS[6] owners,
    KEYS[7] finished
    ARGV[1] key prefix of job hashes   ARGV[2] lock owner   ARGV[3] lock ms
    ARGV[4] maxStalls                  ARGV[5] failed-set limit (rq_failed_jobs_limit)
    ARGV[6] most running jobs looked at per run
    ARGV[7] failure TTL s of an abandoned job whose hash has no fttl (rq_job_failure_ttl)

  Output: { requeued, abandoned } or LOCKED when another supervisor holds the lock
]]
--@include "lanes"
--@include "codes"
--@include "now"
--@include "trimFailed"
--@include "history"
--@include "requeueOrAbandon"
local activeKey, waitKey, markerKey, failedKey, lockKey, ownersKey, finishedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local prefix = ARGV[1]
if not redis.call('SET', lockKey, ARGV[2], 'NX', 'PX', tonumber(ARGV[3])) then return CODE.LOCKED end
local now = nowMs()
local maxStalls, failedLimit, limit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local failureTtl = tonumber(ARGV[7])
local alive = {}
local function isAlive(name)
  if not name then return false end
  if alive[name] == nil then
    local stamp = redis.call('ZSCORE', ownersKey, name)
    alive[name] = stamp ~= false and tonumber(stamp) >= now
  end
  return alive[name]
end
local running = redis.call('ZRANGE', activeKey, 0, limit - 1)
local requeued, abandoned = 0, 0
-- Running jobs counted against their site's max_concurrent_jobs, per site, to set the counts right.
local capped = {}
for _, id in ipairs(running) do
  local jobKey = prefix .. 'job:' .. id
  local h = redis.call('HMGET', jobKey, 'worker', 'cap')
  local worker = h[1]
  if isAlive(worker) then
    if h[2] then
      local site = siteOfId(id)
      capped[site] = (capped[site] or 0) + 1
    end
  else
    redis.call('ZREM', activeKey, id)
    if redis.call('EXISTS', jobKey) == 1 then
      if requeueOrAbandon(jobKey, id, waitKey, failedKey, maxStalls, now, 'its worker process died', true, prefix, failedLimit, failureTtl) == CODE.OK then
        requeued = requeued + 1
      else
        abandoned = abandoned + 1
      end
    end
  end
end
if requeued > 0 then redis.call('ZADD', markerKey, 0, '0') end
if #running < limit then
  redis.call('ZREMRANGEBYSCORE', ownersKey, '-inf', '(' .. now)
  -- Every running job was looked at: the counts are known exactly (a count a lost hash left wrong heals).
  local runningKey = prefix .. 'running'
  redis.call('DEL', runningKey)
  for site, n in pairs(capped) do redis.call('HSET', runningKey, site, n) end
end
redis.call('ZREMRANGEBYSCORE', finishedKey, '-inf', now)
return { requeued, abandoned }
