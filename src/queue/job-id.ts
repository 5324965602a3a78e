// The check of a job id a caller gives (enqueue's jobId, the id of a lookup or an action): 1 to 200
// characters, no control characters or newlines. Such ids become Redis keys, lines of the claim script's
// replay record and cells of `bench jobs list`; generated ids (22 base64url characters) always pass.
import { isJobId, isSiteName, JOB_ID_RULE } from '../config/names.js';
import { BenchError, type BenchErrorCode } from '../errors.js';
import { SITE_SEPARATOR } from '../redis/job-record.js';
import { quoted } from '../util/text.js';

/** `id` when it is a valid job id; else `code` (ERR_USAGE exits 2), saying what is wrong with it. */
export function checkJobId(id: unknown, code: BenchErrorCode, what = 'job id'): string {
  if (isJobId(id)) return id;
  const shown = typeof id === 'string' ? `${quoted(id)} (${id.length} characters)` : String(id);
  throw refused(code, `${what} ${shown} is refused: a job id has ${JOB_ID_RULE}`);
}

/** Check a full id as given for a lookup: `site||id` (a valid site name, then a valid id) or a bare id. */
export function checkFullJobId(fullId: string, code: BenchErrorCode): string {
  const at = fullId.indexOf(SITE_SEPARATOR);
  if (at === -1) return checkJobId(fullId, code);
  const site = fullId.slice(0, at);
  if (!isSiteName(site)) throw refused(code, `job id ${quoted(fullId)} is refused: ${quoted(site)} before "||" is not a site name`);
  checkJobId(fullId.slice(at + SITE_SEPARATOR.length), code);
  return fullId;
}

function refused(code: BenchErrorCode, message: string): BenchError {
  return new BenchError(code, message, code === 'ERR_USAGE' ? { exitCode: 2 } : {});
}
