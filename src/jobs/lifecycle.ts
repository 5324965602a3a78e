// Job lifecycle events on the realtime channel: the job child publishes `job_started` before a job
// runs and `job_finished` or `job_failed` after it, each to the room `job:<id>` and, when the job
// has a user, to `user:<user>`. A Redis problem never delays or fails a job: publishing is
// best-effort and never awaited (it stays off the job's critical path). One job's events go out in
// order, and a child sends what is queued before it exits.
import { serializeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { jobRoom, realtimeEnvelope, REALTIME_CHANNEL, userRoom, type RealtimeEnvelope } from '../realtime/realtime.js';
import type { RunRequest } from '../worker/child-protocol.js';

export const JOB_STARTED = 'job_started';
export const JOB_FINISHED = 'job_finished';
export const JOB_FAILED = 'job_failed';

export type ChannelPublisher = (channel: string, message: string) => Promise<unknown>;

/** The `message` of a lifecycle event. */
export interface JobEventMessage {
  job_id: string;
  method: string;
  job_name: string;
  queue: string;
  status: 'started' | 'finished' | 'failed';
  user?: string;
  attempt: number;
  doctype?: string;
  docname?: string;
  /** finished / failed: run time in ms. */
  duration_ms?: number;
  /** failed: what the job threw. */
  error?: { name: string; message: string; code?: string };
}

/** Event sends not finished yet, of every job of this process. */
const unsent = new Set<Promise<void>>();

/** Resolves once every event queued so far is sent (or given up): a child awaits it before it exits. */
export async function eventsSent(): Promise<void> {
  await Promise.all([...unsent]);
}

export class JobEvents {
  private readonly startedAt = Date.now();
  /** Sends of this job's events, one after another, so subscribers see started before finished. */
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly request: RunRequest,
    private readonly publish: ChannelPublisher | undefined,
    private readonly log: Logger,
  ) {}

  started(): void {
    this.queue(this.message('started'));
  }

  finished(): void {
    this.queue({ ...this.message('finished'), duration_ms: Date.now() - this.startedAt });
  }

  failed(err: unknown): void {
    const e = serializeError(err);
    const error = { name: e.name, message: e.message, ...(e.code === undefined ? {} : { code: e.code }) };
    this.queue({ ...this.message('failed'), duration_ms: Date.now() - this.startedAt, error });
  }

  private queue(message: JobEventMessage): void {
    const sent = this.sending.then(() => this.send(message));
    this.sending = sent;
    unsent.add(sent);
    void sent.finally(() => unsent.delete(sent));
  }

  private message(status: JobEventMessage['status']): JobEventMessage {
    const r = this.request;
    return {
      job_id: r.id,
      method: r.method,
      job_name: r.jobName,
      queue: r.queue,
      status,
      attempt: r.attempt,
      ...(r.user === undefined ? {} : { user: r.user }),
      ...(r.doc === undefined ? {} : { doctype: r.doc.doctype, docname: r.doc.name }),
    };
  }

  private async send(message: JobEventMessage): Promise<void> {
    const publish = this.publish;
    if (!publish) return;
    const event = `job_${message.status}`;
    const rooms = [jobRoom(this.request.id), ...(this.request.user === undefined ? [] : [userRoom(this.request.user)])];
    const envelopes: RealtimeEnvelope[] = rooms.map((room) => realtimeEnvelope(this.request.site, event, message, { room }));
    try {
      for (const envelope of envelopes) await publish(REALTIME_CHANNEL, JSON.stringify(envelope));
    } catch (err) {
      this.log.debug({ err, jobId: this.request.id, event }, 'job event could not be published');
    }
  }
}
