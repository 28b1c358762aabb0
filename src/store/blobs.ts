import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database, Queryable } from './db.js';

/** The body was longer than allowed (the caller answers 413). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
  }
}

/** The file system holding the blobs is full, or the process's disk quota is spent (the caller answers 507). */
export function isStorageFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** A body fully received, hashed and fsynced to a temporary file, not yet visible to anyone. */
export interface StagedBlob {
  readonly sha256: string;
  readonly size: number;
  /** Drops the temporary file; harmless after publish. */
  discard(): Promise<void>;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Where file bodies live, content-addressed by SHA-256 per user. Kept small so that an
 * object-store backend can implement it too.
 */
export interface BlobStore {
  stage(userId: number, body: Readable, maxBytes: number): Promise<StagedBlob>;
  /**
   * Makes a staged blob durable under its hash. Runs before the writer's transaction, so no
   * lock is held while the file system syncs; idempotent.
   */
  publish(userId: number, staged: StagedBlob): Promise<void>;
  /**
   * Inside the transaction that claimed the blob's row: publishes it again if a collector
   * removed the file between publish() and the claim (the row lock keeps collectors out now).
   */
  ensurePublished(userId: number, staged: StagedBlob): Promise<void>;
  open(userId: number, sha256: string, range?: ByteRange): Readable;
  remove(userId: number, sha256: string): Promise<void>;
  removeUser(userId: number): Promise<void>;
  /** Deletes temporary files older than `ageMs` (left by a crash mid-upload). */
  sweepTemporary(ageMs: number): Promise<number>;
  /** The stored bodies of one user, with when each was written. */
  storedBodies(userId: number): AsyncIterable<{ sha256: string; modifiedMs: number }>;
  /** The users that have a folder of bodies. */
  storedUsers(): Promise<number[]>;
  /** Bytes still free where the blobs are stored. */
  freeBytes(): Promise<number>;
}

export class FileBlobStore implements BlobStore {
  readonly #root: string;
  readonly #tmp: string;

  constructor(root: string) {
    this.#root = root;
    this.#tmp = path.join(root, 'tmp');
    fs.mkdirSync(this.#tmp, { recursive: true });
  }

  #file(userId: number, sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('not a SHA-256 hex digest');
    return path.join(this.#root, String(userId), sha256.slice(0, 2), sha256);
  }

  async stage(_userId: number, body: Readable, maxBytes: number): Promise<StagedBlob> {
    const tmpFile = path.join(this.#tmp, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes) return done(new BodyTooLargeError(maxBytes));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const discard = () => fsp.rm(tmpFile, { force: true });
    try {
      // flush: the stream fsyncs its own descriptor before closing it. The body is read through an
      // iterator that does not destroy it when we fail (body too large, disk full): destroying a
      // request resets its connection before the client hears the 413 or 507.
      await pipeline(body.iterator({ destroyOnReturn: false }), meter, fs.createWriteStream(tmpFile, { flags: 'wx', flush: true }));
    } catch (error) {
      // The rest of the body is read and dropped while the answer goes out, so the connection
      // stays usable. On the next tick: the stream notices only then that the iterator has let go.
      if (!body.destroyed) process.nextTick(() => body.resume());
      await discard();
      throw error;
    }
    const staged: StagedBlob & { tmpFile: string } = { sha256: hash.digest('hex'), size, discard, tmpFile };
    return staged;
  }

  async publish(userId: number, staged: StagedBlob): Promise<void> {
    const { tmpFile } = staged as StagedBlob & { tmpFile: string };
    const target = this.#file(userId, staged.sha256);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    // A hard link, not a rename: the staged file stays until discard() for ensurePublished().
    // An existing file under the same hash has the same content.
    await fsp.link(tmpFile, target).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    await syncDirectory(path.dirname(target));
  }

  async ensurePublished(userId: number, staged: StagedBlob): Promise<void> {
    const exists = await fsp.stat(this.#file(userId, staged.sha256)).then(() => true, () => false);
    if (!exists) await this.publish(userId, staged);
  }

  open(userId: number, sha256: string, range?: ByteRange): Readable {
    return fs.createReadStream(this.#file(userId, sha256), range ? { start: range.start, end: range.end } : {});
  }

  async remove(userId: number, sha256: string): Promise<void> {
    await fsp.rm(this.#file(userId, sha256), { force: true });
  }

  async removeUser(userId: number): Promise<void> {
    await fsp.rm(path.join(this.#root, String(userId)), { recursive: true, force: true });
  }

  async freeBytes(): Promise<number> {
    const stats = await fsp.statfs(this.#root);
    return stats.bavail * stats.bsize;
  }

  async storedUsers(): Promise<number[]> {
    const names = await fsp.readdir(this.#root);
    return names.filter((n) => /^\d+$/.test(n)).map(Number);
  }

  async *storedBodies(userId: number): AsyncIterable<{ sha256: string; modifiedMs: number }> {
    const home = path.join(this.#root, String(userId));
    for (const prefix of await fsp.readdir(home).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const sha256 of await fsp.readdir(path.join(home, prefix))) {
        if (!/^[0-9a-f]{64}$/.test(sha256)) continue;
        const stat = await fsp.stat(path.join(home, prefix, sha256)).catch(() => undefined);
        if (stat) yield { sha256, modifiedMs: stat.mtimeMs };
      }
    }
  }

  async sweepTemporary(ageMs: number): Promise<number> {
    let removed = 0;
    const cutoff = Date.now() - ageMs;
    for (const name of await fsp.readdir(this.#tmp)) {
      const file = path.join(this.#tmp, name);
      const stat = await fsp.stat(file).catch(() => undefined);
      if (stat && stat.mtimeMs < cutoff) {
        await fsp.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Records a published blob for a user inside the writer's transaction. The upsert takes the
 * row lock, so no collector can unlink the file until this transaction ends; if one did just
 * before, the file is put back.
 */
export async function claimBlob(tx: Queryable, blobs: BlobStore, userId: number, staged: StagedBlob): Promise<void> {
  await tx.query(
    `INSERT INTO blobs (user_id, sha256, size) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, sha256) DO UPDATE SET size = EXCLUDED.size`,
    [userId, staged.sha256, staged.size],
  );
  await blobs.ensurePublished(userId, staged);
}

/**
 * Undoes a publish whose transaction did not commit: takes the row (waiting for any writer of
 * the same content), then collects it if nothing references it.
 */
export async function releaseBlob(db: Database, blobs: BlobStore, userId: number, staged: StagedBlob): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO blobs (user_id, sha256, size) VALUES ($1, $2, $3) ON CONFLICT (user_id, sha256) DO UPDATE SET size = EXCLUDED.size`,
      [userId, staged.sha256, staged.size],
    );
  });
  await collectBlobs(db, blobs, userId, [staged.sha256]);
}

/**
 * Deletes the given blobs of a user when no node references them any more. Best effort: a
 * blob that gained a reference meanwhile is kept (the foreign key refuses its deletion).
 */
export async function collectBlobs(db: Database, blobs: BlobStore, userId: number, candidates: Iterable<string>): Promise<number> {
  const shas = [...new Set(candidates)];
  if (shas.length === 0) return 0;
  try {
    return await db.transaction(async (tx) => {
      const gone = await tx.query<{ sha256: string }>(
        `DELETE FROM blobs b WHERE b.user_id = $1 AND b.sha256 = ANY($2::text[])
           AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.user_id = b.user_id AND n.blob_sha256 = b.sha256)
         RETURNING sha256`,
        [userId, shas],
      );
      // Unlinked before commit while the rows are locked, so no writer can claim them meanwhile.
      for (const { sha256 } of gone) await blobs.remove(userId, sha256);
      return gone.length;
    });
  } catch (error) {
    if ((error as { code?: string }).code === '23503') return 0;
    throw error;
  }
}

/**
 * Removes body files that no blobs row records, written more than `ageMs` ago: a crash between
 * publish() and its transaction's commit leaves such a file, complete but unreachable. A writer
 * still in flight is safe twice over: its file is newer than the age, and its claim would put
 * a removed file back (ensurePublished).
 */
export async function removeOrphanBodies(db: Database, blobs: BlobStore, ageMs: number): Promise<number> {
  const cutoff = Date.now() - ageMs;
  let removed = 0;
  for (const userId of await blobs.storedUsers()) {
    const rows = await db.query<{ sha256: string }>('SELECT sha256 FROM blobs WHERE user_id = $1', [userId]);
    const recorded = new Set(rows.map((r) => r.sha256));
    for await (const body of blobs.storedBodies(userId)) {
      if (recorded.has(body.sha256) || body.modifiedMs >= cutoff) continue;
      await blobs.remove(userId, body.sha256);
      removed++;
    }
  }
  return removed;
}

/** Collects every unreferenced blob of every user (run at start-up). */
export async function collectAllBlobs(db: Database, blobs: BlobStore): Promise<number> {
  const rows = await db.query<{ user_id: number; sha256: string }>(
    `SELECT b.user_id, b.sha256 FROM blobs b
      WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.user_id = b.user_id AND n.blob_sha256 = b.sha256)`,
  );
  const byUser = new Map<number, string[]>();
  for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row.sha256]);
  let total = 0;
  for (const [userId, shas] of byUser) total += await collectBlobs(db, blobs, userId, shas);
  return total;
}
