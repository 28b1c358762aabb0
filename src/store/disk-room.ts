/**
 * Room kept free on the embedded store's disk. PostgreSQL writes its WAL ahead of every change,
 * a new 16 MiB segment at a time, and a WAL write that finds the disk full stops the server
 * with a PANIC (SQLSTATE 53100, "could not write to file pg_wal/xlogtemp…: No space left on
 * device"). A PostgreSQL server restarts after a PANIC; PGlite's session never answers again
 * (its thread spins), so every later request hung. The embedded store therefore refuses changes
 * before the disk is that full: with less than MIN_FREE_BYTES left, and a change that frees room
 * (a DELETE) with less than MIN_FREE_TO_FREE_BYTES. Reads go on; the refusal is a 507
 * Insufficient Storage (RFC 4918 §11.5), as for a file body the disk cannot take. Uploads of file
 * bodies stop at MIN_FREE_BYTES too (blobs.ts), so that where they share the disk with the store
 * they cannot take the room its WAL needs.
 */
import fs from 'node:fs';

/** Free bytes below which the embedded store takes no change: four WAL segments. */
export const MIN_FREE_BYTES = 64 * 1024 * 1024;
/** Free bytes below which it takes no change at all: room for the next WAL segment, and as much again. */
export const MIN_FREE_TO_FREE_BYTES = 32 * 1024 * 1024;
/** How long a reading of the free space is used by default: statfs(2) per statement would add a system call to each. */
const READING_MS = 100;

export interface DiskRoomOptions {
  /** How long a reading is used (0: each check reads afresh). */
  readingMs?: number;
  /** Reads the free space of a directory's disk (tests give their own). */
  freeBytes?: (dir: string) => number;
}

/** The disk has not the room a change needs; `code` makes it a 507 wherever it is thrown (blobs.ts, isStorageFull). */
export class StorageFullError extends Error {
  readonly code = 'ENOSPC';
}

/** The free space of one disk, read at most every `readingMs`, against the floors above. */
export class DiskRoom {
  #free = Infinity;
  #readAt = -Infinity;

  readonly #readingMs: number;
  readonly #freeBytes: (dir: string) => number;

  /** `dir`: a directory on the disk to watch. */
  constructor(
    private readonly dir: string,
    { readingMs = READING_MS, freeBytes: read = freeBytes }: DiskRoomOptions = {},
  ) {
    this.#readingMs = readingMs;
    this.#freeBytes = read;
  }

  /** Throws StorageFullError when the disk has less free than a change needs; `frees`: one that frees room. */
  check(frees = false): void {
    const now = performance.now();
    if (now - this.#readAt >= this.#readingMs) {
      this.#free = this.#freeBytes(this.dir);
      this.#readAt = now;
    }
    const floor = frees ? MIN_FREE_TO_FREE_BYTES : MIN_FREE_BYTES;
    if (this.#free < floor) {
      throw new StorageFullError(`the disk of ${this.dir} has ${mib(this.#free)} free; this change needs ${mib(floor)}`);
    }
  }
}

/** Bytes an unprivileged process may still write on the disk of `dir`. */
export function freeBytes(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
