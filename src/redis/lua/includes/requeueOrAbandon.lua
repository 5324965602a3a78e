-- Hand a job that lost its executor (crashed or killed worker process, dead supervisor) back to the front
-- of its site's lane (waitKey is unused), counting the crash in `stalls`; past maxStalls it fails as abandoned instead of looping
-- forever. With countStall false (a plain hand-back, e.g. on shutdown) nothing is counted and the job
-- never fails. The caller has already removed `id` from the active set and included "codes", "lanes",
-- "trimFailed" and "history". An abandoned job's record expires after its `fttl` (stored only when its
-- site overrides rq_job_failure_ttl), else after `failureTtl`, the bench's, and it counts as failed in
-- the queue's per-minute history. Returns CODE.OK when requeued, CODE.ABANDONED when failed.
local function requeueOrAbandon(jobKey, id, waitKey, failedKey, maxStalls, now, reason, countStall, prefix, failedLimit, failureTtl)
  uncountRunning(prefix, jobKey, id)
  redis.call('HDEL', jobKey, 'token', 'worker')
  local stalls = 0
  if countStall then stalls = redis.call('HINCRBY', jobKey, 'stalls', 1) end
  if countStall and stalls > maxStalls then
    local err = cjson.encode({ name = 'AbandonedJobError', code = 'ERR_JOB_CRASHED',
      message = 'abandoned: ' .. reason .. ' ' .. stalls .. ' times (limit ' .. maxStalls .. ')' })
    redis.call('HSET', jobKey, 'status', 'failed', 'ended', now, 'error', err)
    redis.call('ZADD', failedKey, now, id)
    countEnds(prefix, now, { x = 1 }, nil)
    trimFailed(failedKey, prefix, failedLimit)
    local fttl = tonumber(redis.call('HGET', jobKey, 'fttl')) or failureTtl
    if fttl and fttl > 0 then redis.call('PEXPIRE', jobKey, fttl * 1000) end
    return CODE.ABANDONED
  end
  redis.call('HSET', jobKey, 'status', 'queued', 'lastStall', reason)
  pushQueued(prefix, { id }, true)
  return CODE.OK
end
