// Imports a module of a bench app (job module, hooks, DocType controller) by file path. `.ts` app
// modules need no build step: the CLI and the worker run under tsx already, and when bench-worker
// itself runs compiled (app code on plain Node importing dist/, e.g. for `now: true`), tsx's hooks
// are registered on first need.
import { pathToFileURL } from 'node:url';

const TS_MODULE = /\.[cm]?ts$/;
const FROM_SOURCES = import.meta.url.endsWith('.ts');
/** Running from the sources means tsx is active in this process. */
let tsHooks: Promise<void> | undefined = FROM_SOURCES ? Promise.resolve() : undefined;

function registerTsHooks(): Promise<void> {
  tsHooks ??= Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).then(([esm, cjs]) => {
    esm.register();
    cjs.register();
  });
  return tsHooks;
}

/**
 * Import `file` as an app module. With `version`, a fresh instance of it (the URL gets `?v=version`):
 * for a long-lived process that must see a module file that changed. Node never frees the old one, so
 * callers use it only when the file did change.
 */
export async function importAppModule(file: string, version?: string): Promise<Record<string, unknown>> {
  const late = TS_MODULE.test(file) && !FROM_SOURCES;
  if (late) await registerTsHooks();
  let mod: Record<string, unknown>;
  try {
    const url = pathToFileURL(file).href + (version === undefined ? '' : `?v=${encodeURIComponent(version)}`);
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    if (!late) throw err;
    throw new Error(`${(err as Error).message} (a .ts app module imported by compiled bench-worker: start the process with \`node --import tsx\`)`, {
      cause: err,
    });
  }
  return late ? withCommonJsExports(mod) : mod;
}

/**
 * Hooks registered after start-up load a `.ts` file of a folder that is not "type": "module" as
 * CommonJS, and Node then sees only `default` (module.exports): lift its members to named exports.
 */
function withCommonJsExports(mod: Record<string, unknown>): Record<string, unknown> {
  const names = Object.keys(mod);
  const exports = mod['default'];
  if (names.length !== 1 || names[0] !== 'default' || typeof exports !== 'object' || exports === null) return mod;
  return { ...(exports as Record<string, unknown>), default: exports };
}
