// The rules for every name a user gives that becomes a file path or a Redis key: app, site, queue,
// DocType, document name and job id. One place, so that config validation, the loader, enqueue and the
// CLI agree, and no name can climb out of apps/ or sites/ ("../outside"), break a key or a script's
// record (a newline in a job id), or write escape sequences to a terminal.
import { hasControlCharacter } from '../util/text.js';

/** An app is a module folder apps/<app>/<app> and the first segment of a method path: a Python-style identifier. */
const APP_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
/** A site is a folder sites/<site> (usually a host name); never "..". */
const SITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
/** All-digit queue names are refused: JSON objects list them first, which would break the file's queue order. */
const QUEUE_NAME = /^(?!\d+$)[A-Za-z0-9_-]{1,64}$/;
/** A DocType ("Sales Order") becomes the module folder doctype/sales_order; 140 characters as in Frappe. */
const DOCTYPE = /^[A-Za-z][A-Za-z0-9 _-]{0,139}$/;

/** Longest job id a user may give (generated ids have 22 characters). */
export const MAX_JOB_ID_LENGTH = 200;
/** Longest document name (Frappe's `name` column is varchar(140)). */
export const MAX_DOCNAME_LENGTH = 140;

export const APP_NAME_RULE = 'letters, digits and "_", not starting with a digit, at most 100 characters';
export const SITE_NAME_RULE = 'letters, digits, ".", "_" and "-", starting with a letter or digit, no "..", at most 253 characters';
export const QUEUE_NAME_RULE = 'letters, digits, "_" and "-", not digits only, at most 64 characters';
export const DOCTYPE_RULE = 'letters, digits, spaces, "_" and "-", starting with a letter, at most 140 characters';
export const JOB_ID_RULE = `1 to ${MAX_JOB_ID_LENGTH} characters, no control characters or newlines`;
export const DOCNAME_RULE = `1 to ${MAX_DOCNAME_LENGTH} characters, no control characters or newlines`;

export function isAppName(name: unknown): name is string {
  return typeof name === 'string' && APP_NAME.test(name);
}

export function isSiteName(name: unknown): name is string {
  return typeof name === 'string' && SITE_NAME.test(name) && !name.includes('..');
}

export function isQueueName(name: unknown): name is string {
  return typeof name === 'string' && QUEUE_NAME.test(name);
}

export function isDoctype(name: unknown): name is string {
  return typeof name === 'string' && DOCTYPE.test(name);
}

/** A job id a user gives (the part after `site||`). */
export function isJobId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_JOB_ID_LENGTH && !hasControlCharacter(id);
}

export function isDocname(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= MAX_DOCNAME_LENGTH && !hasControlCharacter(name);
}
