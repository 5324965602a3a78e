// Frappe's publish_realtime: a JSON message {"event", "message", "room", "namespace": <site>} on the
// Redis channel `events` of redis_queue (or realtime_channel), which a Socket.IO server (Frappe's socketio.js or yours)
// relays to browsers. The room is worked out as Frappe does (frappe/realtime.py): an explicit room,
// else the task's progress room, the user's room, the document's, the DocType's, or the whole site.
import type { Redis } from '../redis/client-type.js';
import { DEFAULTS } from '../config/schema.js';
import { isRecord } from '../util/records.js';

/** The Redis channel realtime messages are published on unless realtime_channel names another. */
export const REALTIME_CHANNEL = DEFAULTS.realtime_channel;

/** Every desk user of the site. */
export const SITE_ROOM = 'all';

export const userRoom = (user: string): string => `user:${user}`;
export const docRoom = (doctype: string, docname: string): string => `doc:${doctype}/${docname}`;
export const doctypeRoom = (doctype: string): string => `doctype:${doctype}`;
export const taskProgressRoom = (taskId: string): string => `task_progress:${taskId}`;
/** The room of a job's lifecycle events (job_started, job_finished, job_failed). */
export const jobRoom = (jobId: string): string => `job:${jobId}`;

export interface RealtimeOptions {
  /** Send to this user's room (`user:<user>`). */
  user?: string | undefined;
  /** Send to this room, whatever else is given. */
  room?: string | undefined;
  /** With docname: the document's room (`doc:<doctype>/<docname>`); alone: the DocType's. */
  doctype?: string | undefined;
  docname?: string | undefined;
  /** Progress of a task: room `task_progress:<taskId>`, message gets task_id; never buffered. */
  taskId?: string | undefined;
}

export interface TransactionalRealtimeOptions extends RealtimeOptions {
  /** Publish only when the surrounding transaction commits (dropped if it rolls back). */
  afterCommit?: boolean | undefined;
}

/** The message as published on the realtime channel. */
export interface RealtimeEnvelope {
  event: string;
  message: unknown;
  room: string;
  namespace: string;
}

/** Build the envelope Frappe's emit_via_redis publishes, choosing the room as Frappe does. */
export function realtimeEnvelope(site: string, event: string, message: unknown, options: RealtimeOptions = {}): RealtimeEnvelope {
  let body: unknown = message ?? {};
  let room = options.room;
  let doctype = options.doctype;
  if (!room && event === 'list_update') {
    doctype ??= stringField(body, 'doctype');
    if (doctype !== undefined) room = doctypeRoom(doctype);
  } else if (!room && event === 'docinfo_update' && doctype !== undefined && options.docname !== undefined) {
    room = docRoom(doctype, options.docname);
  }
  if (!room) {
    if (options.taskId !== undefined) {
      if (isRecord(body) && !('task_id' in body)) body = { ...body, task_id: options.taskId };
      room = taskProgressRoom(options.taskId);
    } else if (options.user !== undefined) room = userRoom(options.user);
    else if (doctype !== undefined && options.docname !== undefined) room = docRoom(doctype, options.docname);
    else if (doctype !== undefined) room = doctypeRoom(doctype);
    else room = SITE_ROOM;
  }
  return { event, message: body, room, namespace: site };
}

/** Publish an envelope on `channel` (realtime_channel); resolves to the number of subscribers that received it. */
export async function publishEnvelope(redis: Redis, channel: string, envelope: RealtimeEnvelope): Promise<number> {
  return redis.publish(channel, JSON.stringify(envelope));
}


function stringField(value: unknown, key: string): string | undefined {
  return isRecord(value) && typeof value[key] === 'string' ? value[key] : undefined;
}
