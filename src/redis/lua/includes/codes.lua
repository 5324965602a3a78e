-- Reply codes shared by every script, by name (the same table as src/redis/codes.ts; a unit test keeps
-- the two equal).
local CODE = {
  OK = 1, RETRY_SCHEDULED = 2, ABANDONED = 3, REPLAYED = 4, ALL_OK = 5,
  NO_JOB = -1, LEASE_LOST = -2, JOB_EXISTS = -3, WRONG_STATE = -4, OWNER_LOST = -5,
  QUEUE_FULL = -10, LOCKED = -11, OUT_OF_ORDER = -12, RESUME_MISMATCH = -13, MOVED = -14, SITE_FULL = -15,
}
