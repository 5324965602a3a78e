-- Keep only the newest `limit` entries of a failed set: the oldest ids and their job hashes go
-- first (Frappe drops the newest by mistake). Returns the number dropped.
local function trimFailed(failedKey, prefix, limit)
  local excess = redis.call('ZCARD', failedKey) - limit
  if excess <= 0 then return 0 end
  local oldest = redis.call('ZRANGE', failedKey, 0, excess - 1)
  for _, old in ipairs(oldest) do redis.call('DEL', prefix .. 'job:' .. old) end
  redis.call('ZREMRANGEBYRANK', failedKey, 0, excess - 1)
  return excess
end
