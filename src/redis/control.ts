// Commands to running workers over Redis pub/sub (as RQ's rq:pubsub:<worker>): every supervisor of a
// bench subscribes to one channel, and the one running the named job acts on it.
import type { Redis } from './client-type.js';
import type { Logger } from '../log/logger.js';
import { keepSubscriberAlive } from './keep-alive.js';
import { benchKeys } from './keys.js';

/** stop-job: the supervisor of the worker process that runs the job (in `queue`) kills that process. */
export type ControlCommand = { command: 'stop-job'; jobId: string; queue?: string | undefined };

export function controlChannel(benchId: string): string {
  return benchKeys(benchId).control;
}

export async function publishControl(redis: Redis, benchId: string, command: ControlCommand): Promise<number> {
  return redis.publish(controlChannel(benchId), JSON.stringify(command));
}

/**
 * Subscribe `subscriber` (a dedicated connection) and hand each well-formed command to `handle`; a
 * connection that a silent stall left dead is replaced (keep-alive.ts), until `subscriber` is closed.
 */
export async function listenForControl(subscriber: Redis, benchId: string, log: Logger, handle: (command: ControlCommand) => void): Promise<void> {
  const channel = controlChannel(benchId);
  subscriber.on('message', (from: string, text: string) => {
    if (from !== channel) return;
    let command: unknown;
    try {
      command = JSON.parse(text);
    } catch {
      log.warn({ text }, 'ignoring malformed control message');
      return;
    }
    if (isControlCommand(command)) handle(command);
    else log.warn({ command }, 'ignoring unknown control command');
  });
  await subscriber.subscribe(channel);
  keepSubscriberAlive(subscriber);
}

function isControlCommand(value: unknown): value is ControlCommand {
  const v = value as { command?: unknown; jobId?: unknown; queue?: unknown } | null;
  return typeof v === 'object' && v !== null && v.command === 'stop-job' && typeof v.jobId === 'string' && (v.queue === undefined || typeof v.queue === 'string');
}
