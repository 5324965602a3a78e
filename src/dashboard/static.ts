// The dashboard's page and assets, all served by the bench (nothing from a CDN, so it works offline):
//  - "/" the HTML shell, whose only inline script is the import map (allowed by its hash in the CSP);
//  - "/assets/app/*.js" the compiled browser code (dist/dashboard/ui, from src/dashboard/ui);
//  - "/assets/vendor/*" preact, its hooks, htm and uPlot, read from node_modules;
//  - "/assets/app.css" and uPlot's stylesheet.
// Files are read once at start and kept in memory (about 150 KB), with an ETag.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from './types.js';

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

export interface Assets {
  files: ReadonlyMap<string, Asset>;
  /** CSP source of the import map: 'sha256-…'. */
  importMapHash: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Where the compiled browser code is: dist/dashboard/ui beside this module once built. */
function uiDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Compiled: dist/dashboard/static.js -> dist/dashboard/ui. From the sources (tsx): src/dashboard -> dist/dashboard/ui.
  const candidates = [path.join(here, 'ui'), path.join(here, '..', '..', 'dist', 'dashboard', 'ui')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'main.js')));
  if (!found) throw new Error(`the dashboard's browser code is not built (looked in ${candidates.join(', ')}): run npm run build`);
  return found;
}

/** The folder of package `name` (some do not export their package.json: walk up from its entry). */
function packageDir(name: string): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve(name));
  while (!existsSync(path.join(dir, 'package.json')) || (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== name) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the package folder of ${name}`);
    dir = up;
  }
  return dir;
}

function vendorFiles(): Record<string, string> {
  const dir = packageDir;
  return {
    'preact.js': path.join(dir('preact'), 'dist', 'preact.mjs'),
    'hooks.js': path.join(dir('preact'), 'hooks', 'dist', 'hooks.mjs'),
    'htm.js': path.join(dir('htm'), 'dist', 'htm.mjs'),
    'uplot.js': path.join(dir('uplot'), 'dist', 'uPlot.esm.js'),
    'uplot.css': path.join(dir('uplot'), 'dist', 'uPlot.min.css'),
  };
}

const IMPORT_MAP = JSON.stringify({
  imports: { preact: '/assets/vendor/preact.js', 'preact/hooks': '/assets/vendor/hooks.js', htm: '/assets/vendor/htm.js', uplot: '/assets/vendor/uplot.js' },
});

function page(): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>bench-worker dashboard</title>',
    '<link rel="icon" href="/favicon.ico">',
    '<link rel="stylesheet" href="/assets/vendor/uplot.css">',
    '<link rel="stylesheet" href="/assets/app.css">',
    `<script type="importmap">${IMPORT_MAP}</script>`,
    '<script type="module" src="/assets/app/main.js"></script>',
    '</head>',
    '<body><div id="app"></div></body>',
    '</html>',
    '',
  ].join('\n');
}

const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2f6feb"/><path d="M4 4h8v2H4zm0 3h8v2H4zm0 3h5v2H4z" fill="#fff"/></svg>';

function asset(body: Buffer | string, type: string): Asset {
  const buffer = typeof body === 'string' ? Buffer.from(body) : body;
  return { body: buffer, type, etag: `"${createHash('sha256').update(buffer).digest('base64url').slice(0, 22)}"` };
}

/** Read every asset once. */
export function loadAssets(): Assets {
  const files = new Map<string, Asset>();
  files.set('/', asset(page(), TYPES['.html'] as string));
  files.set('/favicon.ico', asset(FAVICON, TYPES['.svg'] as string));
  const ui = uiDir();
  for (const name of readdirSync(ui)) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    const at = name === 'app.css' ? '/assets/app.css' : `/assets/app/${name}`;
    files.set(at, asset(readFileSync(path.join(ui, name)), type));
  }
  for (const [name, file] of Object.entries(vendorFiles())) files.set(`/assets/vendor/${name}`, asset(readFileSync(file), TYPES[path.extname(name)] as string));
  return { files, importMapHash: `sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}` };
}

/** Answer a GET of an asset (304 when the browser has it). */
export function serveAsset(assets: Assets, urlPath: string, res: ServerResponse, ifNoneMatch?: string): void {
  const file = assets.files.get(urlPath);
  if (!file) throw new HttpError(404, 'ERR_NOT_FOUND', `no asset ${urlPath}`);
  if (ifNoneMatch === file.etag) {
    res.writeHead(304, { etag: file.etag });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length, etag: file.etag, 'cache-control': urlPath === '/' ? 'no-cache' : 'public, max-age=300' });
  res.end(file.body);
}
