-- Put a failed (or stopped) job back at the end of its site's lane as a queued job: its last error moves to the
-- `errors` history (oldest first; not added twice when a retry policy already put it there as the last
-- entry), the fields of its last run are cleared, its attempt count is kept, its crash count and
-- the retries its retry policy used start again from 0 (an operator's retry gives the policy
-- afresh) and its expiry is removed. `accepted` is a set of the statuses
-- the caller may retry. Never touches a job in the active set. The caller sets the wake-up marker.
-- Returns CODE.OK when requeued; CODE.NO_JOB when the job has no hash; CODE.WRONG_STATE and the job's
-- status when it is not accepted. The caller includes "codes" and "lanes"; waitKey is unused (kept for
-- the scripts' key lists).
local function retryFailedJob(prefix, id, waitKey, failedKey, activeKey, accepted)
  local jobKey = prefix .. 'job:' .. id
  local status = redis.call('HGET', jobKey, 'status')
  if not status then return CODE.NO_JOB end
  if redis.call('ZSCORE', activeKey, id) then return CODE.WRONG_STATE, 'started' end
  if not accepted[status] then return CODE.WRONG_STATE, status end
  local err = redis.call('HGET', jobKey, 'error')
  if err then
    local history = {}
    local old = redis.call('HGET', jobKey, 'errors')
    if old then
      local ok, decoded = pcall(cjson.decode, old)
      if ok and type(decoded) == 'table' then history = decoded end
    end
    local ok, last = pcall(cjson.decode, err)
    if not ok or type(last) ~= 'table' then last = { name = 'Error', message = err } end
    local prev = history[#history]
    if not (type(prev) == 'table' and prev.name == last.name and prev.message == last.message
        and prev.stack == last.stack and prev.code == last.code) then
      history[#history + 1] = last
    end
    redis.call('HSET', jobKey, 'errors', cjson.encode(history))
  end
  redis.call('HDEL', jobKey, 'error', 'result', 'started', 'ended', 'token', 'worker', 'runAt', 'stalls', 'lastStall', 'retries')
  redis.call('HSET', jobKey, 'status', 'queued')
  redis.call('PERSIST', jobKey)
  redis.call('ZREM', failedKey, id)
  pushQueued(prefix, { id }, false)
  return CODE.OK
end
