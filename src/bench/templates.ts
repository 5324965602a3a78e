// Renders the templates of config/ (the files `bench setup` and `bench start` write: redis.conf,
// supervisor.conf, systemd units, the Procfile), a mustache-like subset kept tiny on purpose:
//   {{ key | filter }}     a value, written by the quoting rules of the target format (the filter);
//                          without a filter the value must be plain text (no control character)
//   {{#key}}…{{/key}}      a section: repeated for each entry of a list of records (whose fields
//                          are visible inside), or shown once when the value is true
//   {{! comment }}         dropped; a line holding only a section tag or a comment is dropped whole
// A missing value, an unknown filter or a list where text belongs is a bug: ERR_TEMPLATE.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BenchError } from '../errors.js';
import { redisString, shellWord, supervisorCommand, supervisorPath, systemdExec, systemdPath } from './config-quoting.js';

export type TemplateValue = string | number | boolean | readonly string[] | readonly TemplateContext[];
export interface TemplateContext {
  readonly [key: string]: TemplateValue;
}

/** The repository's config/ folder (the same from src/bench and dist/bench). */
export const TEMPLATE_DIR = fileURLToPath(new URL('../../config/', import.meta.url));

type Filter = (value: string | readonly string[]) => string;

const FILTERS: Record<string, Filter> = {
  /** sh words: a command line of the Procfile (run by sh -c). */
  sh: (v) => words(v).map(shellWord).join(' '),
  systemd_exec: (v) => systemdExec(words(v)),
  systemd_path: (v) => systemdPath(text(v)),
  supervisor_command: (v) => supervisorCommand(words(v)),
  supervisor_path: (v) => supervisorPath(text(v)),
  /** stdout_logfile= / stderr_logfile=: %-expanded twice by supervisor. */
  supervisor_log: (v) => supervisorPath(text(v), 2),
  redis_string: (v) => redisString(text(v)),
  /** A list joined by single spaces (unit names of Wants=/Requires=). */
  spaced: (v) => words(v).join(' '),
  /** A list joined by commas (supervisor's programs=). */
  commas: (v) => words(v).join(','),
};

function words(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value;
}

function text(value: string | readonly string[]): string {
  if (typeof value !== 'string') throw new BenchError('ERR_TEMPLATE', 'a list given where a template expects one value');
  return value;
}

const cache = new Map<string, string>();

/** Render config/<name> with `context`. */
export function renderTemplate(name: string, context: TemplateContext): string {
  let source = cache.get(name);
  if (source === undefined) {
    source = readFileSync(`${TEMPLATE_DIR}${name}`, 'utf8');
    cache.set(name, source);
  }
  return renderString(source, context, name);
}

/** Render a template text (exported for tests of the renderer itself). */
export function renderString(source: string, context: TemplateContext, name = 'template'): string {
  // Standalone section tags and comments take their whole line with them.
  const trimmed = source.replace(/^[ \t]*(\{\{[#/!][^}]*\}\})[ \t]*\r?\n/gm, '$1').replace(/\{\{![^}]*\}\}/g, '');
  return renderSections(trimmed, [context], name);
}

function lookup(stack: readonly TemplateContext[], key: string, name: string): TemplateValue {
  for (let i = stack.length - 1; i >= 0; i--) {
    const frame = stack[i] as TemplateContext;
    if (Object.hasOwn(frame, key)) return frame[key] as TemplateValue;
  }
  throw new BenchError('ERR_TEMPLATE', `${name}: no value for "${key}"`, { details: { template: name, key } });
}

function renderSections(source: string, stack: readonly TemplateContext[], name: string): string {
  let out = '';
  let rest = source;
  for (;;) {
    const open = /\{\{#\s*(\w+)\s*\}\}/.exec(rest);
    if (!open) return out + renderValues(rest, stack, name);
    const key = open[1] as string;
    const closeTag = `{{/${key}}}`;
    const bodyStart = open.index + open[0].length;
    const close = rest.indexOf(closeTag, bodyStart);
    if (close < 0) throw new BenchError('ERR_TEMPLATE', `${name}: section "${key}" is not closed`);
    out += renderValues(rest.slice(0, open.index), stack, name);
    const body = rest.slice(bodyStart, close);
    const value = lookup(stack, key, name);
    if (value === true) out += renderSections(body, stack, name);
    else if (Array.isArray(value)) {
      for (const entry of value as readonly (string | TemplateContext)[]) {
        if (typeof entry === 'string') throw new BenchError('ERR_TEMPLATE', `${name}: section "${key}" needs records, not words`);
        out += renderSections(body, [...stack, entry], name);
      }
    } else if (value !== false) throw new BenchError('ERR_TEMPLATE', `${name}: section "${key}" needs true/false or a list`);
    rest = rest.slice(close + closeTag.length);
  }
}

function renderValues(source: string, stack: readonly TemplateContext[], name: string): string {
  return source.replace(/\{\{\s*(\w+)\s*(?:\|\s*(\w+)\s*)?\}\}/g, (_, key: string, filter: string | undefined) => {
    const value = lookup(stack, key, name);
    if (typeof value === 'boolean' || (Array.isArray(value) && value.some((v) => typeof v !== 'string'))) {
      throw new BenchError('ERR_TEMPLATE', `${name}: "${key}" is a section, not a value`);
    }
    const plain = typeof value === 'number' ? String(value) : (value as string | readonly string[]);
    if (filter === undefined) {
      const raw = text(plain);
      if (/\p{Cc}/u.test(raw)) throw new BenchError('ERR_TEMPLATE', `${name}: "${key}" holds a control character`);
      return raw;
    }
    const apply = FILTERS[filter];
    if (!apply) throw new BenchError('ERR_TEMPLATE', `${name}: unknown filter "${filter}"`);
    return apply(plain);
  });
}
