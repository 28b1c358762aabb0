/**
 * The web pages in tests: the assets built once when missing or older than their sources, and
 * a real headless Chromium (Debian's, driven by playwright-core; never a downloaded browser).
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ASSETS_DIR } from '../../src/web/assets.js';
import { buildWebAssets, newestSourceTime } from '../../src/web/build-assets.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Builds the pages unless a build newer than every client source is already there. */
export async function ensureWebAssets(): Promise<void> {
  const manifest = path.join(ASSETS_DIR, 'manifest.json');
  const built = fs.existsSync(manifest) ? fs.statSync(manifest).mtimeMs : 0;
  if (built > newestSourceTime()) return;
  try {
    await buildWebAssets();
  } catch (error) {
    // Another test file built at the same moment and won the rename: its build is as good.
    if (!fs.existsSync(manifest)) throw error;
  }
}

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  return fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install -y chromium)`;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export const SCREENSHOTS = path.resolve('test-output/screenshots');
