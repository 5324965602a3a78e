-- Move scheduled jobs that are due from the delayed set to the end of the queue (one atomic step
-- inside the calling script). Returns the number promoted.
local function promoteDue(delayedKey, waitKey, prefix, now)
  local due = redis.call('ZRANGEBYSCORE', delayedKey, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    redis.call('ZREM', delayedKey, id)
    redis.call('HSET', prefix .. 'job:' .. id, 'status', 'queued')
    redis.call('RPUSH', waitKey, id)
  end
  return #due
end
