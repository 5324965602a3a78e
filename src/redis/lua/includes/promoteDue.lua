-- Move scheduled jobs that are due from the delayed set to the end of their sites' lanes (one atomic
-- step inside the calling script, which includes "lanes"; waitKey is unused). Returns the number promoted.
local function promoteDue(delayedKey, waitKey, prefix, now)
  local due = redis.call('ZRANGEBYSCORE', delayedKey, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    redis.call('ZREM', delayedKey, id)
    redis.call('HSET', prefix .. 'job:' .. id, 'status', 'queued')
  end
  pushQueued(prefix, due, false)
  return #due
end
