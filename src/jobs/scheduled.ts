// The job ids of scheduled runs (scheduler_events): deterministic, so that a run is one job whoever
// enqueues it, and recognisable, so that the worker records the run in the site's scheduled_job_log.
// `scheduled_job|<job type>|<fire time, basic ISO 8601: 20240131T100000.000Z>` (Frappe's rq_job_id is
// `scheduled_job::<name>`; no ":" here, as the producer turns every ":" of an id into "|"). The job type is `<event>|<method>`, with a cron event written
// `cron(<expr>)`; a type too long for a job id is shortened to a digest.
import { createHash } from 'node:crypto';

/** What every scheduled run's id starts with, after its site's `site||`. */
export const SCHEDULED_ID_PREFIX = 'scheduled_job|';
/** Longest job id the producer accepts (queue/job-id.ts). */
const MAX_ID = 200;

/** The id (without its site) of the run of job type `jobType` due at `fireMs`. */
export function scheduledJobId(jobType: string, fireMs: number): string {
  const at = new Date(fireMs).toISOString().replace(/[-:]/g, '');
  const full = `${SCHEDULED_ID_PREFIX}${jobType}|${at}`;
  if (full.length <= MAX_ID) return full;
  const digest = createHash('sha256').update(jobType).digest('base64url').slice(0, 22);
  return `${SCHEDULED_ID_PREFIX}${digest}|${at}`;
}

/** True when the job `id` of `site` (`site||...`) is a scheduled run. Cheap: on every job's path. */
export function isScheduledRun(id: string, site: string): boolean {
  return id.startsWith(SCHEDULED_ID_PREFIX, site.length + 2);
}
