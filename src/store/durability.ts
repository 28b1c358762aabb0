/**
 * Durable commits for the embedded store. PGlite's Node file system layer never calls fsync
 * (its fsync is a no-op), so without this a commit reaches the operating system, not the disk:
 * it survives a killed process but not a power cut or a kernel crash. PostgreSQL's own rules are
 * applied from outside instead:
 * - a commit is acknowledged only once the WAL it was written to is on disk (group commit: one
 *   fsync serves every commit that finished while the previous one ran);
 * - after a checkpoint (which rewrites global/pg_control) every file of the data directory is
 *   fsynced, because the checkpoint lets PostgreSQL stop relying on the WAL that covered pages
 *   the operating system may still hold in memory.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** WAL segment files are named by 24 hexadecimal digits. */
const SEGMENT = /^[0-9A-F]{24}$/;
/** Segments written this long before a round started are synced again (coarse file times). */
const MTIME_SLACK_MS = 2_000;

export type SyncFile = (file: string) => Promise<void>;
/** Makes a WAL segment's data durable; `inode` tells a segment from a recycled one of the same name. */
export type SyncSegment = (file: string, inode: number) => Promise<void>;

/** fsync of one file or directory. */
export const syncFile: SyncFile = async (file) => {
  const handle = await fsp.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/**
 * fdatasync(2) of WAL segments through handles kept open between rounds: PostgreSQL's own
 * wal_sync_method on Linux. It writes a changed size too; what it leaves out, the file times,
 * would cost fsync a journal commit per round. The open and close saved are two thread-pool round
 * trips on the path of every commit.
 */
export class SegmentHandles {
  readonly #open = new Map<string, { inode: number; handle: Promise<fsp.FileHandle> }>();

  readonly sync: SyncSegment = async (file, inode) => {
    let kept = this.#open.get(file);
    if (kept?.inode !== inode) {
      if (kept) closeHandle(kept.handle);
      kept = { inode, handle: fsp.open(file, 'r') };
      this.#open.set(file, kept);
    }
    try {
      await (await kept.handle).datasync();
    } catch (error) {
      if (this.#open.get(file) === kept) this.#open.delete(file);
      closeHandle(kept.handle);
      throw error;
    }
  };

  /** Closes the handles of segments no longer listed (removed or recycled under a new name). */
  keepOnly(files: ReadonlySet<string>): void {
    for (const [file, kept] of this.#open) {
      if (files.has(file)) continue;
      this.#open.delete(file);
      closeHandle(kept.handle);
    }
  }
}

function closeHandle(handle: Promise<fsp.FileHandle>): void {
  handle.then((h) => h.close()).catch(() => undefined);
}

export class WalFlusher {
  readonly #walDir: string;
  /** The round now running (or the last one), and the one queued behind it. */
  #running: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #lastRoundStart = 0;
  #segments = '';
  #controlTime = 0;
  #dataSync: Promise<void> = Promise.resolve();
  readonly #handles = new SegmentHandles();
  readonly #syncSegment: SyncSegment;

  /** `sync` makes directories and data files durable, `syncSegment` WAL segments. */
  constructor(
    private readonly dataDir: string,
    private readonly sync: SyncFile = syncFile,
    syncSegment?: SyncSegment,
  ) {
    this.#walDir = path.join(dataDir, 'pg_wal');
    this.#syncSegment = syncSegment ?? this.#handles.sync;
  }

  /** Resolves once everything committed before the call is on disk. */
  flush(): Promise<void> {
    // A round that has not started yet will see this commit's WAL: join it.
    if (this.#queued) return this.#queued;
    const round = this.#running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#round();
      });
    this.#queued = round;
    this.#running = round;
    return round;
  }

  /** Every file of the data directory fsynced (after a checkpoint, and when the store closes). */
  syncAll(): Promise<void> {
    this.#dataSync = this.#dataSync.catch(() => undefined).then(() => syncTree(this.dataDir, this.sync));
    return this.#dataSync;
  }

  /** Closes the segments' handles, once the database is closed and synced. */
  close(): void {
    this.#handles.keepOnly(new Set());
  }

  async #round(): Promise<void> {
    const started = Date.now();
    const since = this.#lastRoundStart - MTIME_SLACK_MS;
    this.#lastRoundStart = started;
    // The listing (a few names) and the file times are read synchronously: they come from
    // memory in microseconds, where each call through the thread pool would add a round trip
    // to the path of every commit waiting for this round.
    const names = fs.readdirSync(this.#walDir).filter((n) => SEGMENT.test(n)).sort();
    const files = new Set(names.map((n) => path.join(this.#walDir, n)));
    this.#handles.keepOnly(files);
    for (const file of files) {
      const stat = statIfPresent(file);
      if (stat && stat.mtimeMs >= since) await this.#syncSegment(file, stat.ino);
    }
    // A new or recycled segment is a directory change: its entry must be durable too.
    const listed = names.join(',');
    if (listed !== this.#segments) {
      await this.sync(this.#walDir);
      this.#segments = listed;
    }
    const control = statIfPresent(path.join(this.dataDir, 'global', 'pg_control'));
    if (control && control.mtimeMs !== this.#controlTime) {
      const first = this.#controlTime === 0;
      this.#controlTime = control.mtimeMs;
      // In the background: the checkpoint's pages need not delay this commit, whose WAL is synced.
      if (!first) void this.syncAll().catch(() => undefined);
    }
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
