-- The job hash fields a claim returns for each job, in this order: what running the job and recording
-- its outcome need (the same list as CLAIM_FIELDS in src/redis/job-record.ts; a unit test keeps the two equal).
-- A job without `method` is gone (deleted while queued).
local CLAIM_FIELDS = {
  'method', 'kwargs', 'timeout', 'attempts', 'name', 'user', 'doctype', 'docname',
  'event', 'onSuccess', 'onFailure', 'retry', 'errors', 'retries',
}
