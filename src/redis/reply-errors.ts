// What a command of our Redis clients rejects with: ioredis puts the failed command on its errors
// (`command: { name, args }`), so a failed handshake carries ["3", "AUTH", user, password]. Every
// command's rejection passes through here first: its secret arguments are replaced in place (the
// same error object also reaches 'error' listeners and every command flushed with it), and a NOPERM
// (the ACL user may not run the command, or touch its keys) becomes ERR_REDIS_NOPERM naming the
// command and the user, and a NOREPLICAS (min-replicas-to-write) becomes ERR_REDIS_NOREPLICAS.
import type { Redis as ServerClient } from 'ioredis';
import type { Redis } from './client-type.js';
import { BenchError, isBenchError } from '../errors.js';
import { scrubError } from '../util/redact.js';

/** Commands that run a script: a refusal may be of a command the script calls. */
const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/** The commands already guarded (ioredis sends a command again after a reconnect). */
const guarded = new WeakSet<object>();

/** Guard the rejections of every command `client` sends as ACL user `user`. */
export function guardCommandErrors(client: Redis, user: string): void {
  const send = client.sendCommand.bind(client) as (...args: Parameters<ServerClient['sendCommand']>) => ReturnType<ServerClient['sendCommand']>;
  // Every argument is passed on: a pipeline adds one that the typings do not show (and a Cluster
  // passes the node's stream and address).
  client.sendCommand = (...args: Parameters<ServerClient['sendCommand']>) => {
    const [command] = args;
    if (!guarded.has(command)) {
      guarded.add(command);
      const reject = command.reject;
      command.reject = (err: Error) => reject(commandError(err, command.name, user));
    }
    return send(...args);
  };
}

/** `err` made safe to log (in place), or ERR_REDIS_NOPERM for an ACL refusal. */
export function commandError(err: Error, command: string, user: string): Error {
  scrubError(err);
  if (isBenchError(err)) return err;
  if (err.message.startsWith('NOREPLICAS')) {
    // min-replicas-to-write: the master refuses writes while too few replicas are in sync; the refused
    // command (or the script's first write) wrote nothing.
    return new BenchError(
      'ERR_REDIS_NOREPLICAS',
      `Redis refused ${command.toUpperCase()}: fewer replicas are in sync than its min-replicas-to-write asks, so it accepts no write (nothing was written). Retry once a replica is back.`,
      { cause: err, details: { command } },
    );
  }
  const refusal = aclRefusal(err.message);
  if (refusal === undefined) return err;
  const sent = command.toUpperCase();
  const refused = refusal.command ?? command;
  const script = refusal.inScript || SCRIPT_COMMANDS.has(command.toLowerCase());
  let what: string;
  if (refusal.keys) what = `the keys (or channels) of ${sent}`;
  else if (refusal.command === undefined) what = script ? `a command run by the ${sent} script` : sent;
  else if (script && refusal.command !== command.toLowerCase()) what = `${refusal.command.toUpperCase()} (run by the ${sent} script)`;
  else what = refusal.command.toUpperCase();
  const reason = err.message.replace(/\.+$/, '');
  return new BenchError(
    'ERR_REDIS_NOPERM',
    `Redis refused ${what} to ACL user "${user}": ${reason}. Grant the user what it lacks (ACL SETUSER ${user} ...) or connect as another user.`,
    { cause: err, details: { command: refused, user, ...(refused === command ? {} : { sentCommand: command }) } },
  );
}

/**
 * What a Redis ACL refusal says: the command it names (when it names one), whether keys or
 * channels were refused rather than a command, and whether a script's call was. Undefined for any
 * other error.
 *  - "NOPERM this user has no permissions to run the 'zadd' command" (7.0), "NOPERM User u has no
 *    permissions to run the 'zadd' command" (7.2+), "NOPERM ... access one of the keys ..."
 *  - inside a script (7.0): "ERR The user executing the script can't run this command ..."
 */
export function aclRefusal(message: string): { command: string | undefined; keys: boolean; inScript: boolean } | undefined {
  if (!/\bNOPERM\b|user executing the script can't/.test(message)) return undefined;
  const named = /'([^'\s]+)' command/.exec(message);
  return {
    command: named?.[1]?.toLowerCase(),
    keys: named === null && /\bkeys?\b|\bchannels?\b/.test(message),
    inScript: /\bscript\b/.test(message),
  };
}
