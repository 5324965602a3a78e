-- Job lifecycle events (job_started, job_finished, job_failed) on the bench's own channel
-- bw:{<bench_id>}:events (not the shared realtime channel: benches on one Redis must not see each other's), published by
-- the scripts that start and end jobs, so that they cost no round trip of their own. Each goes to the
-- room job:<id> and, when the job has a user, user:<user>, as Frappe's publish_realtime envelope
-- {event, message, room, namespace = site}. Nothing is built while nobody listens on the channel.

-- True when a client subscribes to `channel` (or to any pattern): only then are events published.
local function hasListeners(channel)
  local subscribed = redis.call('PUBSUB', 'NUMSUB', channel)
  return tonumber(subscribed[2]) > 0 or redis.call('PUBSUB', 'NUMPAT') > 0
end

-- `f`: the job's fields by name (method, name, queue, user, attempts, doctype, docname); `extra`:
-- duration_ms and error for an ended job, or nil. The site is the prefix of the id (`site||...`).
local function publishJobEvent(channel, id, status, f, extra)
  local site = f.site or string.match(id, '^(.-)||') or ''
  local message = { job_id = id, method = f.method, job_name = f.name or f.method, queue = f.queue,
    status = status, attempt = tonumber(f.attempts) or 1 }
  if f.user then message.user = f.user end
  if f.doctype and f.docname then
    message.doctype = f.doctype
    message.docname = f.docname
  end
  if extra then
    message.duration_ms = extra.duration_ms
    message.error = extra.error
  end
  local event = 'job_' .. status
  redis.call('PUBLISH', channel, cjson.encode({ event = event, message = message, room = 'job:' .. id, namespace = site }))
  if f.user then
    redis.call('PUBLISH', channel, cjson.encode({ event = event, message = message, room = 'user:' .. f.user, namespace = site }))
  end
end

-- The {name, message, code} of an error JSON for a job_failed event.
local function eventError(errorJson)
  local ok, e = pcall(cjson.decode, errorJson)
  if not ok or type(e) ~= 'table' then return { name = 'Error', message = tostring(errorJson) } end
  local out = { name = e.name or 'Error', message = e.message or '' }
  if e.code then out.code = e.code end
  return out
end
