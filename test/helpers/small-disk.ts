/** A small disk for the tests of a full one: a tmpfs of its own, so that ENOSPC is a real one. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createTestLocation } from './store.js';

/** Mounts a tmpfs of `size` (mount's syntax: 8m) at `dir`; the reason it cannot, or undefined when it did. */
export function mountSmallDisk(dir: string, size: string): string | undefined {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
  }
}

export function unmountSmallDisk(dir: string): void {
  execFileSync('umount', [dir]);
}

export interface StoreOnSmallDisk {
  /** The tmpfs: a DATA_DIR whose pglite/ holds a migrated embedded store. */
  disk: string;
  /** Unmounts the disk and removes the store's location. */
  remove(): Promise<void>;
}

/** A migrated embedded store on a tmpfs of `size` of its own; the reason it cannot be mounted, as a string. */
export async function embeddedStoreOnSmallDisk(size: string): Promise<StoreOnSmallDisk | string> {
  const location = await createTestLocation({ embedded: true, migrated: true });
  const disk = path.join(location.dataDir, 'disk');
  const refused = mountSmallDisk(disk, size);
  if (refused) {
    await location.remove();
    return refused;
  }
  fs.cpSync(path.join(location.dataDir, 'pglite'), path.join(disk, 'pglite'), { recursive: true });
  return {
    disk,
    async remove() {
      unmountSmallDisk(disk);
      await location.remove();
    },
  };
}
