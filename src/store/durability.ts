/**
 * Durable commits for the embedded store. PGlite's Node file system layer never calls fsync
 * (its fsync is a no-op), so without this a commit reaches the operating system, not the disk:
 * it survives a killed process but not a power cut or a kernel crash. PostgreSQL's own rules are
 * applied from outside instead:
 * - a commit is acknowledged only once the WAL it was written to is on disk (`WalSync`, on the
 *   database thread after the COMMIT, as PostgreSQL's backend flushes its WAL itself; group
 *   commit: one flush for the writes run back to back, pglite-worker.ts);
 * - after a checkpoint (which rewrites global/pg_control) every file of the data directory is
 *   fsynced, because the checkpoint lets PostgreSQL stop relying on the WAL that covered pages
 *   the operating system may still hold in memory (`CheckpointSync`, on the serving thread).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** WAL segment files are named by 24 hexadecimal digits. */
const SEGMENT = /^[0-9A-F]{24}$/;
/** Segments written this long before a flush started are synced again (coarse file times). */
const MTIME_SLACK_MS = 2_000;

export type SyncFile = (file: string) => Promise<void>;

/** fsync of one file or directory. */
export const syncFile: SyncFile = async (file) => {
  const handle = await fsp.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/** How `WalSync` makes a segment's data (through a descriptor open on it) and a directory durable. */
export interface WalSyncCalls {
  segment(file: string, fd: number): void;
  directory(dir: string): void;
}

const syncCalls: WalSyncCalls = {
  segment: (_file, fd) => fs.fdatasyncSync(fd),
  directory: (dir) => {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
};

/**
 * The WAL written since the last flush made durable, synchronously, on the thread that wrote it.
 * fdatasync(2) of the segments written lately, through descriptors kept open between flushes
 * (PostgreSQL's own wal_sync_method on Linux: it writes a changed size too, and leaves out the
 * file times, which would cost fsync a journal commit each time), and an fsync of pg_wal when
 * its listing changed (a new or recycled segment is a directory change). The listing and the
 * file times come from memory in microseconds; the flush itself was 63–110 µs on an SSD.
 */
export class WalSync {
  readonly #walDir: string;
  readonly #open = new Map<string, { inode: number; fd: number }>();
  #lastStart = 0;
  #listed = '';

  constructor(
    dataDir: string,
    private readonly calls: WalSyncCalls = syncCalls,
  ) {
    this.#walDir = path.join(dataDir, 'pg_wal');
  }

  flush(): void {
    const started = Date.now();
    const since = this.#lastStart - MTIME_SLACK_MS;
    this.#lastStart = started;
    const names = fs.readdirSync(this.#walDir).filter((n) => SEGMENT.test(n)).sort();
    const files = new Set(names.map((n) => path.join(this.#walDir, n)));
    // Segments removed, or recycled under another name: their descriptors are closed.
    for (const [file, kept] of this.#open) {
      if (files.has(file)) continue;
      this.#open.delete(file);
      fs.closeSync(kept.fd);
    }
    for (const file of files) {
      const stat = statIfPresent(file);
      if (stat && stat.mtimeMs >= since) this.#syncSegment(file, stat.ino);
    }
    const listed = names.join(',');
    if (listed !== this.#listed) {
      this.calls.directory(this.#walDir);
      this.#listed = listed;
    }
  }

  /** Closes the segments' descriptors (the thread is done with the store). */
  close(): void {
    for (const kept of this.#open.values()) fs.closeSync(kept.fd);
    this.#open.clear();
  }

  #syncSegment(file: string, inode: number): void {
    let kept = this.#open.get(file);
    if (kept?.inode !== inode) {
      // A recycled segment: another file under the name.
      if (kept) fs.closeSync(kept.fd);
      this.#open.delete(file);
      const fd = openIfPresent(file);
      // Removed since the listing: PostgreSQL removes only segments a checkpoint no longer needs.
      if (fd === undefined) return;
      kept = { inode, fd };
      this.#open.set(file, kept);
    }
    try {
      this.calls.segment(file, kept.fd);
    } catch (error) {
      // Opened again at the next flush: a descriptor whose sync failed may have lost the error.
      this.#open.delete(file);
      fs.closeSync(kept.fd);
      throw error;
    }
  }
}

/**
 * Every file of the data directory fsynced after a checkpoint (noticed at the commit after it,
 * from pg_control's time) and when the store closes.
 */
export class CheckpointSync {
  readonly #control: string;
  #controlTime: number | undefined;
  #dataSync: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataDir: string,
    private readonly sync: SyncFile = syncFile,
  ) {
    this.#control = path.join(dataDir, 'global', 'pg_control');
    this.#controlTime = statIfPresent(this.#control)?.mtimeMs;
  }

  /** After a commit: a checkpoint since the last one starts a sync of every file, in the background. */
  noteCommit(): void {
    const time = statIfPresent(this.#control)?.mtimeMs;
    if (time === this.#controlTime) return;
    this.#controlTime = time;
    // The checkpoint's pages need not delay the commit, whose WAL is synced.
    void this.syncAll().catch(() => undefined);
  }

  /** Every file of the data directory fsynced (after a checkpoint, and when the store closes). */
  syncAll(): Promise<void> {
    this.#dataSync = this.#dataSync.catch(() => undefined).then(() => syncTree(this.dataDir, this.sync));
    return this.#dataSync;
  }
}

function openIfPresent(file: string): number | undefined {
  try {
    return fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function statIfPresent(file: string): fs.Stats | undefined {
  return fs.statSync(file, { throwIfNoEntry: false });
}

/** fsync of every file and directory below `dir` (directories after their entries). */
async function syncTree(dir: string, sync: SyncFile): Promise<void> {
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(full, sync);
    else if (entry.isFile()) await sync(full).catch(ignoreVanished);
  }
  await sync(dir).catch(ignoreVanished);
}

/** A file removed meanwhile (a recycled segment, a temporary file) needs no sync. */
function ignoreVanished(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
