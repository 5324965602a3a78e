// enqueueDoc / Frappe's run_doc_method: run a method of a DocType controller on a document loaded
// from the site database. Layout as in Frappe: DocType "Sales Order" has its controller at
// apps/<app>/<app>/doctype/sales_order/sales_order.{ts,mjs,js} and its rows in table "tabSales Order"
// (primary key column `name`). The job's method path is `<app>.doctype.sales_order.sales_order.<method>`.
// The controller module exports either a class named after the DocType (`SalesOrder`, or the default
// export) whose instance gets the row's fields and runs `instance.<method>(kwargs, ctx)`, or a
// function `<method>(doc, kwargs, ctx)`.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DOCNAME_RULE, DOCTYPE_RULE, isDocname, isDoctype } from '../config/names.js';
import { BenchError, JobLoadError } from '../errors.js';
import type { Queryable, Row } from '../db/types.js';
import { quoted } from '../util/text.js';
import { appModuleDir, MODULE_EXTENSIONS, resolveMethodFile } from './loader.js';
import { importAppModule } from './app-module.js';

const METHOD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Seconds an enqueueDoc job may run unless given a timeout: Frappe's enqueue_doc default, whatever the queue. */
export const ENQUEUE_DOC_TIMEOUT = 300;

/** Frappe's scrub: "Sales Order" -> "sales_order". */
export function scrub(doctype: string): string {
  return doctype.trim().replace(/[ -]+/g, '_').toLowerCase();
}

/** The table holding a DocType's documents, as Frappe names it: `tab<DocType>`. */
export function docTable(doctype: string): string {
  return `tab${doctype}`;
}

/** Class name a controller exports for a DocType: "Sales Order" -> "SalesOrder". */
export function controllerClassName(doctype: string): string {
  return doctype.split(/[ _-]+/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** The DocType becomes a module path, the name a query parameter and a stored field: both are checked. */
export function checkDocTarget(doctype: string, name: string, method: string): void {
  if (!isDoctype(doctype)) {
    throw new BenchError('ERR_ENQUEUE_INVALID', `invalid DocType ${quoted(String(doctype))}: ${DOCTYPE_RULE}`, { details: { doctype } });
  }
  if (!isDocname(name)) {
    throw new BenchError('ERR_ENQUEUE_INVALID', `invalid document name ${quoted(String(name))} for ${doctype}: ${DOCNAME_RULE}`, { details: { doctype } });
  }
  if (typeof method !== 'string' || !METHOD.test(method)) {
    throw new BenchError('ERR_ENQUEUE_INVALID', `invalid controller method ${quoted(String(method))} for ${doctype}: letters, digits and "_"`);
  }
}

/** The dotted path of `method` on the controller of `doctype`: the first installed app that has one. */
export function docMethodPath(appsDir: string, installedApps: readonly string[], doctype: string, name: string, method: string): string {
  checkDocTarget(doctype, name, method);
  const module = scrub(doctype);
  const tried: string[] = [];
  for (const app of installedApps) {
    const base = path.join(appModuleDir(appsDir, app), 'doctype', module, module);
    if (MODULE_EXTENSIONS.some((ext) => existsSync(base + ext))) return `${app}.doctype.${module}.${module}.${method}`;
    tried.push(path.relative(appsDir, base) + '.{ts,mjs,js}');
  }
  throw new JobLoadError(`no controller for DocType "${doctype}" in the site's apps (tried ${tried.join(', ') || 'no installed app'})`, { doctype, tried });
}

type DocCall = (kwargs: Record<string, unknown>, ctx: { db: Queryable }) => Promise<unknown>;
type Constructor = new () => Record<string, unknown>;

/** Resolve the controller method of a doc job to a call that loads the document and runs it. */
export async function loadDocMethod(appsDir: string, methodPath: string, installedApps: readonly string[], doctype: string, name: string): Promise<DocCall> {
  const location = resolveMethodFile(appsDir, methodPath, installedApps);
  const method = location.exportName;
  checkDocTarget(doctype, name, method);
  let mod: Record<string, unknown>;
  try {
    mod = await importAppModule(location.file);
  } catch (err) {
    throw new JobLoadError(`controller of ${doctype}: importing ${location.file} failed: ${(err as Error).message}`, { doctype, file: location.file }, err);
  }
  const cls = [mod[controllerClassName(doctype)], mod['default']].find(
    (c): c is Constructor => typeof c === 'function' && typeof (c.prototype as Record<string, unknown> | undefined)?.[method] === 'function',
  );
  const fn = mod[method];
  if (cls === undefined && typeof fn !== 'function') {
    throw new JobLoadError(
      `controller of ${doctype} (${location.file}) has no method "${method}": export a class ${controllerClassName(doctype)} with that method, or a function ${method}(doc, kwargs, ctx)`,
      { doctype, file: location.file, method },
    );
  }
  return async (kwargs, ctx) => {
    const doc = await loadDoc(ctx.db, doctype, name);
    if (cls !== undefined) {
      const instance = Object.assign(new cls(), doc);
      return (instance[method] as (k: unknown, c: unknown) => unknown).call(instance, kwargs, ctx);
    }
    return (fn as (d: Row, k: unknown, c: unknown) => unknown)(doc, kwargs, ctx);
  };
}

/** The document's row from `tab<DocType>`, or ERR_DOC_NOT_FOUND. */
export async function loadDoc(db: Queryable, doctype: string, name: string): Promise<Row> {
  const rows = await db.query(`SELECT * FROM "${docTable(doctype)}" WHERE name = ?`, [name]);
  const row = rows[0];
  if (row === undefined) {
    throw new BenchError('ERR_DOC_NOT_FOUND', `${doctype} "${name}" not found (table "${docTable(doctype)}")`, { details: { doctype, name } });
  }
  return row;
}
