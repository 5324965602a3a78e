// What running one job needs, and the one mapper that takes it from a job's record: a job a worker
// process claimed, or one built for enqueue({ now: true }). Sent as is to the worker process that runs
// the failure epilogue of a killed job.
import type { JobRecord } from '../vocabulary.js';

/** The fields of the job's record that running it needs, plus its attempt and its document. */
export interface ExecutionRequest
  extends Pick<JobRecord, 'id' | 'site' | 'queue' | 'method' | 'jobName' | 'kwargs' | 'user' | 'timeout' | 'event' | 'onSuccess' | 'onFailure'> {
  /** 1 on the first run; higher when it runs again after its worker died. */
  attempt: number;
  /** enqueueDoc: the document whose controller method `method` names. */
  doc: { doctype: string; name: string } | undefined;
}

export function executionRequest(job: JobRecord): ExecutionRequest {
  return {
    id: job.id,
    site: job.site,
    queue: job.queue,
    method: job.method,
    jobName: job.jobName,
    kwargs: job.kwargs,
    user: job.user,
    timeout: job.timeout,
    attempt: Math.max(1, job.attempts),
    event: job.event,
    onSuccess: job.onSuccess,
    onFailure: job.onFailure,
    doc: job.doctype !== undefined && job.docname !== undefined ? { doctype: job.doctype, name: job.docname } : undefined,
  };
}
