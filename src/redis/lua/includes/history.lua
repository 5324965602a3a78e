-- Per-minute counters of ended jobs behind the dashboard's charts: the hash `<prefix>history:<day>` (UTC
-- day = floor(ms / 86400000)), field "<minute of the day>:<outcome>" where outcome is f (finished), x
-- (failed, a scheduled retry and an abandoned job included) or s (stopped). A day's hash expires
-- `keepDays` days after the day ends (dashboard_history_days). The caller batches: one HINCRBY per
-- outcome per call, and the expiry is written only when a field is new (the hash's first one included),
-- about once a minute per outcome rather than once per call.
local MS_PER_DAY = 86400000
-- dashboard_history_days' default, for a caller that does not know the setting (an abandoned job in the
-- reaper or a hand-back): it keeps the expiry fetch.lua set, and uses this one only on a hash without one.
local DEFAULT_HISTORY_DAYS = 7

-- Add counts.f, counts.x, counts.s (each may be absent or 0) to the current minute of the queue of `prefix`.
local function countEnds(prefix, now, counts, keepDays)
  local day = math.floor(now / MS_PER_DAY)
  local key = prefix .. 'history:' .. day
  local minute = math.floor((now % MS_PER_DAY) / 60000) .. ':'
  local fresh = false
  for _, outcome in ipairs({ 'f', 'x', 's' }) do
    local n = counts[outcome]
    if n and n > 0 and redis.call('HINCRBY', key, minute .. outcome, n) == n then fresh = true end
  end
  if not fresh then return end
  if not keepDays then
    if redis.call('PTTL', key) >= 0 then return end
    keepDays = DEFAULT_HISTORY_DAYS
  end
  redis.call('PEXPIREAT', key, (day + 1 + keepDays) * MS_PER_DAY)
end
