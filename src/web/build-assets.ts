/**
 * Bundles the pages' script and style sheet with esbuild (npm run build:web): Preact and the
 * views in one ES module, the CSS in one file, both named by content hash, plus manifest.json
 * for the shell. Everything comes from node_modules: nothing is fetched at build time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { ASSETS_DIR, type AssetManifest } from './assets.js';

export const CLIENT_DIR = fileURLToPath(new URL('./client/', import.meta.url));

export async function buildWebAssets(outDir: string = ASSETS_DIR): Promise<AssetManifest> {
  const target = outDir.replace(/[/\\]+$/, '');
  // Built aside, then swapped in: a server reading the old build never sees half of the new one.
  const staging = `${target}.build-${process.pid}-${Date.now()}`;
  const result = await esbuild.build({
    entryPoints: { app: path.join(CLIENT_DIR, 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    outdir: staging,
    entryNames: '[name]-[hash]',
    metafile: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error('the build made no script or no style sheet');
  const manifest: AssetManifest = { js, css };
  fs.writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(manifest) + '\n');
  const old = `${target}.old-${process.pid}-${Date.now()}`;
  if (fs.existsSync(target)) fs.renameSync(target, old);
  fs.renameSync(staging, target);
  fs.rmSync(old, { recursive: true, force: true });
  return manifest;
}

/** The newest modification time of the client's sources (tests rebuild when they changed). */
export function newestSourceTime(dir: string = CLIENT_DIR): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceTime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const manifest = await buildWebAssets();
  process.stdout.write(`web pages built: ${manifest.js}, ${manifest.css}\n`);
}
