--[[
  Where the previous run of a scheduled method is, so that the scheduler neither stacks a slow job
  nor is blocked by a stale one (Frappe's "Skipped queueing ... found in queue" that lasts for days).

  Input:
    KEYS[1] the job hash of the previous run
    KEYS[2] the owners zset of its queue (worker process name -> liveness stamp deadline, ms)

  Output: { state, status }
    "gone"     no job hash (expired, deleted, never written): does not block
    "waiting"  queued or scheduled: blocks
    "running"  started by a worker process whose stamp is live: blocks
    "stale"    started, but its worker process's stamp lapsed (the worker died): does not block
    "ended"    finished, failed, stopped or canceled: does not block
]]
--@include "now"
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { 'gone', '' } end
if status == 'queued' or status == 'scheduled' then return { 'waiting', status } end
if status == 'started' then
  local worker = redis.call('HGET', KEYS[1], 'worker')
  local stamp = worker and redis.call('ZSCORE', KEYS[2], worker)
  if stamp and tonumber(stamp) >= nowMs() then return { 'running', status } end
  return { 'stale', status }
end
return { 'ended', status }
