// Keeps credentials out of what bench-worker logs and prints: the password of a URL with userinfo
// (redis://user:pass@host, anywhere in a text), the secret arguments of a Redis command that an
// error carries (ioredis puts `command: { name, args }` on its errors: AUTH, HELLO ... AUTH,
// ACL SETUSER >pass, CONFIG SET requirepass ...) and fields named like a password. Every place that
// logs or shows an error goes through here: the logger's serializers, the CLI's error printer,
// serializeError (job errors kept in Redis) and the Redis connection itself.

export const CENSOR = '***';

/** Deeper than this, a value is not walked (and not shown): errors and details are shallow. */
const MAX_DEPTH = 8;

// scheme://userinfo@ : the userinfo ends at the last '@' before the host (a raw '@' in a password
// is legal in the wild), and holds no whitespace, '/', quote or bracket.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>()[\]{}]*(?:@[^\s/?#@"'<>()[\]{}]*)*)@/gi;

/** Field names whose value is a secret wherever they appear. */
const SECRET_KEY = /^(?:pass|passwd|requirepass|masterauth|auth-pass|sentinel-pass)$|password$/i;

/** CONFIG SET / SENTINEL SET parameters whose value is a secret. */
const SECRET_PARAM = /pass|masterauth|secret/i;

/** `text` with the password of every URL in it replaced (the whole userinfo when it has no ':'). */
export function redactText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon === -1 ? `${scheme}${CENSOR}@` : `${scheme}${userinfo.slice(0, colon)}:${CENSOR}@`;
  });
}

/** `url` without its password (a URL that does not parse is redacted as text). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = CENSOR;
    return parsed.toString();
  } catch {
    return redactText(url);
  }
}

/** The arguments of Redis command `name` with its secret ones replaced (AUTH, HELLO AUTH, ...). */
export function redactCommandArgs(name: string, args: readonly unknown[]): unknown[] {
  const out = [...args];
  const word = (i: number) => (typeof out[i] === 'string' ? (out[i] as string).toLowerCase() : '');
  const censor = (i: number) => {
    if (i < out.length) out[i] = CENSOR;
  };
  switch (name.toLowerCase()) {
    case 'auth':
      // AUTH pass | AUTH user pass: the user name may stay.
      censor(out.length - 1);
      break;
    case 'hello':
    case 'migrate':
      for (let i = 0; i < out.length; i++) {
        if (word(i) === 'auth') censor(name.toLowerCase() === 'hello' ? i + 2 : i + 1);
        if (word(i) === 'auth2') censor(i + 2);
      }
      break;
    case 'acl':
      // ACL SETUSER name rule...: >pass, <pass, #hash and !hash are secrets.
      if (word(0) === 'setuser') {
        for (let i = 2; i < out.length; i++) if (/^[<>#!]/.test(String(out[i]))) censor(i);
      }
      break;
    case 'config':
    case 'sentinel':
      // CONFIG SET param value ... / SENTINEL SET master param value / SENTINEL CONFIG SET param value.
      for (let i = 0; i < out.length - 1; i++) if (SECRET_PARAM.test(String(out[i]))) censor(i + 1);
      break;
    default:
      break;
  }
  return out;
}

/**
 * A copy of `value` safe to log or print: strings with URL passwords replaced, Redis commands
 * (`{ name, args }`) with their secret arguments replaced, password fields censored; an Error
 * becomes a plain record of its name, message, stack and own fields.
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return '[not shown: nested too deep]';
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  if (Buffer.isBuffer(value)) return '[binary]';
  const source: Record<string, unknown> = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : {};
  Object.assign(source, value);
  if (value instanceof Error && value.cause !== undefined) source['cause'] = value.cause;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(source)) {
    if (item === undefined) continue;
    out[key] = SECRET_KEY.test(key) && item !== null && item !== '' ? CENSOR : redactValue(item, depth + 1);
  }
  if (typeof out['name'] === 'string' && Array.isArray(source['args'])) out['args'] = redactCommandArgs(out['name'], out['args'] as unknown[]);
  return out;
}

/**
 * Make `err` safe in place (for errors handed on to code that logs them its own way): its message
 * and stack lose URL passwords, its Redis command its secret arguments, and so do its causes.
 */
export function scrubError(err: unknown, depth = 0): void {
  if (!(err instanceof Error) || depth >= MAX_DEPTH) return;
  const message = redactText(err.message);
  if (message !== err.message) err.message = message;
  if (err.stack !== undefined) {
    const stack = redactText(err.stack);
    if (stack !== err.stack) err.stack = stack;
  }
  const command = (err as { command?: unknown }).command;
  if (typeof command === 'object' && command !== null) {
    const { name, args } = command as { name?: unknown; args?: unknown };
    if (typeof name === 'string' && Array.isArray(args)) (command as { args: unknown[] }).args = redactCommandArgs(name, args);
  }
  scrubError(err.cause, depth + 1);
  if (err instanceof AggregateError) for (const inner of err.errors) scrubError(inner, depth + 1);
  const previous = (err as { previousErrors?: unknown }).previousErrors;
  if (Array.isArray(previous)) for (const inner of previous) scrubError(inner, depth + 1);
}
