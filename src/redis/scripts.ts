// Loads the Lua scripts from ./lua (expanding `--@include "name"` lines from ./lua/includes) and
// registers them on an ioredis client with defineCommand, which handles EVALSHA and NOSCRIPT.
// A file named `name-N.lua` takes exactly N keys; a file without a suffix takes a variable count.
import { readdirSync, readFileSync } from 'node:fs';
import type { Redis } from './client-type.js';

const LUA_DIR = new URL('./lua/', import.meta.url);
const INCLUDE = /^--@include "([A-Za-z0-9_-]+)"\s*$/gm;

export interface ScriptSource {
  name: string;
  /** Fixed key count, or undefined when the caller passes it first. */
  numberOfKeys: number | undefined;
  lua: string;
}

let cached: ScriptSource[] | undefined;

export function loadScriptSources(): ScriptSource[] {
  if (cached) return cached;
  cached = readdirSync(LUA_DIR)
    .filter((file) => file.endsWith('.lua'))
    .map((file) => {
      const match = /^([A-Za-z]+)(?:-(\d+))?\.lua$/.exec(file);
      if (!match) throw new Error(`badly named Lua script ${file}: expected name.lua or name-N.lua`);
      const raw = readFileSync(new URL(file, LUA_DIR), 'utf8');
      return {
        name: match[1] as string,
        numberOfKeys: match[2] === undefined ? undefined : Number(match[2]),
        lua: expandIncludes(raw, file),
      };
    });
  return cached;
}

function expandIncludes(lua: string, file: string): string {
  const malformed = lua.split('\n').find((line) => line.startsWith('--@include') && !/^--@include "([A-Za-z0-9_-]+)"\s*$/.test(line));
  if (malformed !== undefined) throw new Error(`${file}: malformed include line ${JSON.stringify(malformed)}: expected --@include "name"`);
  return lua.replace(INCLUDE, (_line, name: string) => {
    try {
      return readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), 'utf8');
    } catch (err) {
      throw new Error(`${file}: cannot include "${name}": ${(err as Error).message}`, { cause: err });
    }
  });
}

let byName: Map<string, ScriptSource> | undefined;

function sourcesByName(): Map<string, ScriptSource> {
  byName ??= new Map(loadScriptSources().map((source) => [source.name, source]));
  return byName;
}

type ScriptFn = (...args: (string | number | readonly (string | number)[])[]) => Promise<unknown>;

/** Register every script on `client` (idempotent per client). */
export function defineScripts(client: Redis): void {
  for (const source of loadScriptSources()) {
    if (source.name in client) continue;
    client.defineCommand(source.name, {
      lua: source.lua,
      ...(source.numberOfKeys === undefined ? {} : { numberOfKeys: source.numberOfKeys }),
    });
  }
}

/** Call a registered script. Keys first, then args; variable-key scripts get the key count prepended. */
export async function runScript(
  client: Redis,
  name: string,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const fn = (client as unknown as Record<string, ScriptFn | undefined>)[name];
  if (typeof fn !== 'function') throw new Error(`Lua script "${name}" is not registered on this client`);
  const source = sourcesByName().get(name);
  // Arrays, not spread arguments: ioredis flattens them into the command itself (a bulk call's thousands
  // of arguments are copied once instead of three times).
  return source?.numberOfKeys === undefined ? fn.call(client, keys.length, keys, args) : fn.call(client, keys, args);
}
