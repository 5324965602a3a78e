--[[
  The scheduler lease: one `bench schedule` per bench ticks, the one whose value the key holds. Each
  holder has its own value (a random token with its host and pid), so only it can renew or release.

  Input:
    KEYS[1] the lease key
    ARGV[1] "acquire" | "renew" | "release"
    ARGV[2] the holder's value
    ARGV[3] lease length in ms (acquire, renew)

  Output: OK when the caller holds the lease after the call (acquire, renew) or released it (release);
  LOCKED (acquire) when another holder has it; LEASE_LOST (renew, release) when the caller no longer
  holds it (it expired, and maybe another took it).
]]
--@include "codes"
local key, mode, value = KEYS[1], ARGV[1], ARGV[2]
local current = redis.call('GET', key)
if mode == 'acquire' then
  if current == value then
    redis.call('PEXPIRE', key, tonumber(ARGV[3]))
    return CODE.OK
  end
  if current then return CODE.LOCKED end
  redis.call('SET', key, value, 'PX', tonumber(ARGV[3]))
  return CODE.OK
elseif mode == 'renew' then
  if current ~= value then return CODE.LEASE_LOST end
  redis.call('PEXPIRE', key, tonumber(ARGV[3]))
  return CODE.OK
elseif mode == 'release' then
  if current ~= value then return CODE.LEASE_LOST end
  redis.call('DEL', key)
  return CODE.OK
end
return redis.error_reply('ERR schedulerLease: unknown mode ' .. tostring(mode))
