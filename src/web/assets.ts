import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { DavError } from '../dav/errors.js';

/** Where `npm run build:web` puts the bundled pages (from src/ and dist/ alike: two levels up). */
export const ASSETS_DIR = fileURLToPath(new URL('../../dist/public/', import.meta.url));

/** The build's hashed file names, so the shell can name them and they can be cached for good. */
export interface AssetManifest {
  js: string;
  css: string;
}

export function readManifest(dir: string = ASSETS_DIR): AssetManifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as AssetManifest;
  } catch {
    return undefined;
  }
}

/** The one HTML page: everything else is drawn by the script (relative URLs, so any BASE_URL path works). */
export function serveShell(koa: Koa.Context): void {
  const manifest = readManifest();
  if (!manifest) throw new DavError(503, { message: 'The web pages are not built: run `npm run build:web`.' });
  koa.type = 'text/html; charset=utf-8';
  // Always revalidated: it names the current build's assets.
  koa.set('Cache-Control', 'no-cache');
  koa.body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Davenport</title>
<link rel="stylesheet" href="assets/${manifest.css}">
<script type="module" src="assets/${manifest.js}"></script>
</head>
<body>
<div id="app"><p class="loading">Loading…</p></div>
<noscript><p>These pages need JavaScript. Calendar, contacts and file clients work without them.</p></noscript>
</body>
</html>
`;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

/** A built asset: its name carries its content hash, so it is cached for a year and never revalidated. */
export function serveAsset(koa: Koa.Context, name: string): void {
  const type = TYPES[path.extname(name)];
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.') || !type) throw new DavError(404);
  const file = path.join(ASSETS_DIR, name);
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    throw new DavError(404);
  }
  koa.type = type;
  koa.length = size;
  koa.set('Cache-Control', 'public, max-age=31536000, immutable');
  koa.body = koa.method === 'HEAD' ? null : fs.createReadStream(file);
}
