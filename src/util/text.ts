// How messages show values they did not choose: a kind with the right article ("an object", "a Date"),
// a user's string quoted, shortened and with its control characters escaped, so that an error or a
// job list never writes a terminal escape sequence, a bare newline or 100 KB of id to a terminal.
import { redactText } from './redact.js';

/**
 * "a" or "an" before `word`, by how it starts (good enough for type and class names): "an object", "an
 * Item", "an undefined", but "a Uint8Array", "a URL", "a User".
 */
export function withArticle(word: string): string {
  return `${/^([aeio]|u[nmpgdltcbf])/i.test(word) ? 'an' : 'a'} ${word}`;
}

/** What kind of value `value` is, for a message: "null", "undefined", "a list", "an object", "a Date", "a number". */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? withArticle(name) : 'an object';
  }
  return withArticle(typeof value);
}

// C0 controls, DEL, C1 controls and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

function escapeChar(ch: string): string {
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` safe to print: control characters written as escapes (`\x1b`, `\n`). With `multiline`, newlines
 * and tabs stay (for a stack trace); every other control character is still escaped.
 */
export function printable(text: string, options: { multiline?: boolean } = {}): string {
  return text.replace(options.multiline ? CONTROL_BUT_LINES : CONTROL, escapeChar);
}

/** True when `text` holds a control character (a newline included). */
export function hasControlCharacter(text: string): boolean {
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(text);
}

/** `text` cut to `max` characters, "..." marking the cut. */
export function truncate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** A user's string for a message: in double quotes, cut to `max` characters, control characters escaped. */
export function quoted(text: string, max = 60): string {
  return `"${printable(truncate(text, max))}"`;
}

/** A value as a config error shows what it found: `"600" (string)`, `7 (number)`, `a list ([1,2])`, `null`. */
export function describeValue(value: unknown): string {
  // URL passwords are redacted before anything is cut (a cut could keep a password and lose its '@').
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list (${printable(truncate(redactText(JSON.stringify(value))))})`;
  if (typeof value === 'string') return `${quoted(redactText(value))} (string)`;
  if (typeof value === 'object') return `an object (${printable(truncate(redactText(JSON.stringify(value))))})`;
  return `${String(value)} (${typeof value})`;
}
