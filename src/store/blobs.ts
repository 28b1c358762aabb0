import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isQuotaExceeded, type Database, type Queryable } from './db.js';
import { openDirectSpool, probeDirectWrites, type Spool } from './direct-io.js';
import { DiskRoom } from './disk-room.js';
import type { Beside } from './nodes.js';

/** The body was longer than allowed (the caller answers 413). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
  }
}

/**
 * A full disk: the file system holding the blobs (or the process's disk quota), the embedded
 * store's floor (disk-room.ts), or PostgreSQL's own (SQLSTATE 53100, disk_full), which the quota
 * trigger's refusal shares (the caller answers 507 either way, with another condition).
 */
export function isStorageFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || (code === '53100' && !isQuotaExceeded(error));
}

/**
 * A body fully received and hashed, not yet visible to anyone: held in memory when small,
 * otherwise fsynced to a temporary file.
 */
export interface StagedBlob {
  readonly sha256: string;
  readonly size: number;
  /** The body itself when it is small (at most SMALL_BODY_BYTES): see keptInRow(). */
  readonly bytes?: Buffer;
  /** Drops the temporary file, if any; harmless after publish. */
  discard(): Promise<void>;
}

/**
 * Bodies up to this size are held in memory as they arrive rather than spooled to a file, and
 * kept in their blobs row rather than as a file of the blob store.
 */
export const SMALL_BODY_BYTES = 64 * 1024;

/** Bytes of an upload between two checks of the room left on its disk (a statfs(2) each). */
const ROOM_CHECK_BYTES = 4 * 1024 * 1024;

export interface HeldBlob extends StagedBlob {
  readonly bytes: Buffer;
}

/**
 * Whether a staged body is kept in its blobs row (migration 10): then the commit that claims it
 * makes it durable, and nothing is published. Creating, fsyncing and renaming a file (and
 * fsyncing its folder) cost a small upload more CPU than the rest of its PUT together; the
 * bytes ride in the WAL write the commit makes anyway. Larger bodies stream to files.
 */
export function keptInRow(staged: StagedBlob): staged is HeldBlob {
  return staged.bytes !== undefined;
}

interface SpooledBlob extends StagedBlob {
  readonly tmpFile: string;
}

/**
 * A spooled body under its hash: a hard link, not a rename, so the staged file stays until
 * discard() for ensurePublished(). An existing file under the same hash has the same content.
 */
function link(staged: SpooledBlob, target: string): Promise<void> {
  return fsp.link(staged.tmpFile, target).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
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
  /** Folders of bodies known to exist, so that publish() makes each once. */
  readonly #folders = new Set<string>();
  readonly #folderSyncs = new FolderSyncs();
  /** Whether the staging folder takes O_DIRECT writes, probed on the first large upload. */
  #directWrites: Promise<boolean> | undefined;
  /** The room an upload leaves on its disk, read afresh at each check (disk-room.ts). */
  readonly #room: DiskRoom;

  constructor(root: string) {
    this.#root = root;
    this.#tmp = path.join(root, 'tmp');
    fs.mkdirSync(this.#tmp, { recursive: true });
    this.#room = new DiskRoom(this.#tmp, { readingMs: 0 });
  }

  #file(userId: number, sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('not a SHA-256 hex digest');
    return path.join(this.#root, String(userId), sha256.slice(0, 2), sha256);
  }

  async stage(_userId: number, body: Readable, maxBytes: number): Promise<StagedBlob> {
    const tmpFile = path.join(this.#tmp, randomUUID());
    const hash = createHash('sha256');
    const discard = () => fsp.unlink(tmpFile).catch(ignoreMissing);
    // A small body stays in memory until publish() writes it; a larger one goes to tmpFile as it arrives.
    let held: Buffer[] | undefined = [];
    let writer: Spool | undefined;
    let spooledSha256: string | undefined;
    let size = 0;
    let checkedAt = 0;
    try {
      // Read through an iterator that does not destroy the body when we fail (body too large,
      // disk full): destroying a request resets its connection before the client hears the 413 or 507.
      for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
        if (held && size <= SMALL_BODY_BYTES) {
          hash.update(chunk);
          held.push(chunk);
          continue;
        }
        if (!writer) {
          writer = await this.#openSpool(tmpFile);
          for (const earlier of held ?? []) await writer.write(earlier);
          held = undefined;
        }
        // A spool that hashes (on another thread) hashes every byte it writes, the held ones too.
        if (!writer.hashes) hash.update(chunk);
        await writer.write(chunk);
        // An upload stops short of the room the embedded store's WAL needs, where it shares the disk.
        if (size >= checkedAt + ROOM_CHECK_BYTES) {
          checkedAt = size;
          this.#room.check();
        }
      }
      // Durable before publish() links it: fdatasync(2) also writes the file size.
      spooledSha256 = await writer?.finish();
    } catch (error) {
      // The rest of the body is read and dropped while the answer goes out, so the connection
      // stays usable. On the next tick: the stream notices only then that the iterator has let go.
      if (!body.destroyed) process.nextTick(() => body.resume());
      await writer?.abandon();
      if (writer) await discard();
      throw error;
    } finally {
      await writer?.close().catch(noop);
    }
    const sha256 = spooledSha256 ?? hash.digest('hex');
    const staged: HeldBlob | SpooledBlob = held ? { sha256, size, discard: async () => {}, bytes: Buffer.concat(held, size) } : { sha256, size, discard, tmpFile };
    return staged;
  }

  /** Large bodies go past the page cache where the file system allows it (direct-io.ts); else through it. */
  async #openSpool(tmpFile: string): Promise<Spool> {
    this.#directWrites ??= probeDirectWrites(this.#tmp);
    const direct = (await this.#directWrites) ? await openDirectSpool(tmpFile) : undefined;
    return direct ?? new StagingWriter(await fsp.open(tmpFile, 'wx'));
  }

  /** Writes the body as a file, even a small one (a restore writes what a backup holds as files). */
  async publish(userId: number, staged: StagedBlob): Promise<void> {
    const target = this.#file(userId, staged.sha256);
    const dir = path.dirname(target);
    const place = () => (staged.bytes ? this.#write(staged.bytes, target) : link(staged as SpooledBlob, target));
    // The folder is made on first use only; removeUser() may drop it later, hence the retry.
    if (!this.#folders.has(dir)) await fsp.mkdir(dir, { recursive: true });
    await place().catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      this.#folderSyncs.forget(dir);
      await fsp.mkdir(dir, { recursive: true });
      await place();
    });
    this.#folders.add(dir);
    await this.#folderSyncs.sync(dir);
  }

  /**
   * Writes a body held in memory under its hash: to a temporary file first, made durable, then
   * renamed, so the name never shows a partial body. Through the thread pool, not synchronously:
   * while another upload fills the page cache, the kernel makes every writer wait for write-back
   * (balance_dirty_pages), and that writer must not be the serving thread.
   */
  async #write(bytes: Buffer, target: string): Promise<void> {
    // An existing file under the same hash has the same content.
    if (fs.existsSync(target)) return;
    const tmpFile = path.join(this.#tmp, randomUUID());
    try {
      await fsp.writeFile(tmpFile, bytes, { flag: 'wx', flush: true });
      await fsp.rename(tmpFile, target);
    } catch (error) {
      await fsp.rm(tmpFile, { force: true });
      throw error;
    }
  }

  async ensurePublished(userId: number, staged: StagedBlob): Promise<void> {
    // Synchronous on purpose: this runs while the writer's transaction holds its locks, and a
    // stat of a name publish() just made is answered from the dentry cache in microseconds,
    // far less than a thread-pool round trip.
    if (!fs.existsSync(this.#file(userId, staged.sha256))) await this.publish(userId, staged);
  }

  open(userId: number, sha256: string, range?: ByteRange): Readable {
    return new BodyStream(this.#file(userId, sha256), range);
  }

  async remove(userId: number, sha256: string): Promise<void> {
    await fsp.rm(this.#file(userId, sha256), { force: true });
  }

  async removeUser(userId: number): Promise<void> {
    const home = path.join(this.#root, String(userId));
    this.#folderSyncs.forget(home);
    for (const dir of this.#folders) if (dir.startsWith(home + path.sep)) this.#folders.delete(dir);
    await fsp.rm(home, { recursive: true, force: true });
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

/** Bytes per read of a stored body. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** Read buffers no response is using, kept for the next: see BodyStream. */
const idleReadBuffers: Buffer[] = [];
const IDLE_READ_BUFFERS_KEPT = 8;

/**
 * A stored body (or a byte range of it) as a stream. Piped into an HTTP response, as Koa does
 * with a response body, it reads into two reused buffers, one read while the response writes the
 * other, and hands each back to the file only once the response's write has called back. A plain
 * file stream allocates a buffer per read instead: at a gigabyte a second, those short-lived
 * external buffers kept V8 marking the heap through a whole download. Read any other way, it
 * reads into fresh buffers.
 */
class BodyStream extends Readable {
  readonly #path: string;
  readonly #range: ByteRange | undefined;
  #file: Promise<fsp.FileHandle> | undefined;
  #position = 0;
  #end = 0;
  #piped = false;

  constructor(file: string, range?: ByteRange) {
    super({ highWaterMark: READ_CHUNK_BYTES });
    this.#path = file;
    this.#range = range;
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    // Only a stream nobody has read from yet, into an HTTP response: its write callback comes once
    // the socket has taken the bytes, so the buffer may be read into again. Any other sink (a
    // Transform such as a zip entry's CRC counter) may still hold the chunk after its callback.
    if (this.#file || this.#piped || !(destination instanceof http.ServerResponse)) return super.pipe(destination, options);
    this.#piped = true;
    this.#send(destination).then(
      () => {
        if (options?.end !== false) destination.end();
        // A normal end, as stream.pipeline (which Koa uses, with end: false) waits for before
        // ending the response itself.
        this.push(null);
        this.resume();
      },
      (error: unknown) => {
        // A sink that closed first (the client went away) is no error of ours.
        if (destination.destroyed) this.destroy();
        else {
          destination.destroy();
          this.destroy(error as Error);
        }
      },
    );
    return destination;
  }

  override _read(): void {
    this.#next().then(
      (chunk) => this.push(chunk),
      (error: unknown) => this.destroy(error as Error),
    );
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const file = this.#file;
    if (this.#piped || !file) return done(error);
    file.then((f) => f.close()).then(() => done(error), () => done(error));
  }

  /** Opens the file on first use and learns where the body ends. */
  async #open(): Promise<fsp.FileHandle> {
    this.#file ??= fsp.open(this.#path, 'r').then(async (file) => {
      try {
        this.#position = this.#range?.start ?? 0;
        this.#end = this.#range ? this.#range.end + 1 : (await file.stat()).size;
        return file;
      } catch (error) {
        await file.close();
        throw error;
      }
    });
    return this.#file;
  }

  async #next(): Promise<Buffer | null> {
    const file = await this.#open();
    if (this.#position >= this.#end) return null;
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, this.#end - this.#position));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, this.#position);
    if (bytesRead === 0) throw new Error('a stored body is shorter than recorded');
    this.#position += bytesRead;
    return buffer.subarray(0, bytesRead);
  }

  async #send(sink: http.ServerResponse): Promise<void> {
    const file = await this.#open();
    try {
      await sendFile(file, this.#position, this.#end, sink, () => this.destroyed);
    } finally {
      await file.close();
    }
  }
}

/** Sends bytes [start, end) of a file with two reused buffers; see BodyStream. */
async function sendFile(file: fsp.FileHandle, start: number, end: number, sink: http.ServerResponse, stopped: () => boolean): Promise<void> {
  const buffers = [takeReadBuffer(), takeReadBuffer()] as const;
  const writes: [Promise<void> | undefined, Promise<void> | undefined] = [undefined, undefined];
  let position = start;
  let turn = 0;
  try {
    while (position < end) {
      if (stopped()) throw new Error('the body stream was destroyed');
      const slot = turn++ % 2;
      const buffer = buffers[slot]!;
      // The sink holds a buffer until its write calls back; only then is it read into again.
      await writes[slot];
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, end - position), position);
      if (bytesRead === 0) throw new Error('a stored body is shorter than recorded');
      position += bytesRead;
      const write = writeChunk(sink, buffer.subarray(0, bytesRead));
      write.catch(noop); // awaited on the next turn of this slot, or below
      writes[slot] = write;
    }
    await Promise.all(writes);
  } catch (error) {
    // A buffer the sink may still hold is not reused.
    await Promise.allSettled(writes);
    throw error;
  }
  for (const buffer of buffers) if (idleReadBuffers.length < IDLE_READ_BUFFERS_KEPT) idleReadBuffers.push(buffer);
}

function takeReadBuffer(): Buffer {
  return idleReadBuffers.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
}

/** Resolves when `sink` has taken `chunk`; rejects if it is closed first (its callback then never comes). */
function writeChunk(sink: http.ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (sink.destroyed) return reject(new Error('the response was closed'));
    const closed = () => reject(new Error('the response was closed'));
    sink.once('close', closed);
    sink.write(chunk, (error) => {
      sink.off('close', closed);
      if (error) reject(error);
      else resolve();
    });
  });
}

/** Received bytes waiting for their write before the request is read further: bounds memory per upload. */
const PENDING_BYTES = 2 * 1024 * 1024;
/** Bytes of a large upload written between two fdatasync(2) calls started in the background. */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

/**
 * Writes a body to its staging file through the page cache (where direct writes are refused, or
 * the pool of aligned blocks is taken) while the request goes on being read and hashed: one
 * pwritev(2) at a time (concurrent writes to one file only queue on its inode lock), each taking
 * every chunk that arrived while the previous one ran. Memory is bounded by PENDING_BYTES.
 */
class StagingWriter implements Spool {
  readonly hashes = false;
  readonly #file: fsp.FileHandle;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #position = 0;
  #writing: Promise<void> | undefined;
  #unsynced = 0;
  #syncing: Promise<void> | undefined;
  #failure: unknown;
  #failed = false;

  constructor(file: fsp.FileHandle) {
    this.#file = file;
  }

  async write(chunk: Buffer): Promise<void> {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (!this.#writing) this.#writing = this.#drain();
    while (this.#pendingBytes >= PENDING_BYTES && this.#writing) await this.#writing;
    if (this.#failed) throw this.#failure;
  }

  async finish(): Promise<undefined> {
    await this.abandon();
    if (this.#failed) throw this.#failure;
    await this.#file.datasync();
    return undefined;
  }

  /** Waits for the write and sync still running, so the file can be closed and removed. */
  async abandon(): Promise<void> {
    while (this.#writing || this.#syncing) await (this.#writing ?? this.#syncing);
  }

  close(): Promise<void> {
    return this.#file.close();
  }

  /** Writes what is pending, then what arrived meanwhile, until nothing is left or a write fails. */
  async #drain(): Promise<void> {
    try {
      while (this.#pendingBytes > 0) {
        const buffers = this.#pending;
        const bytes = this.#pendingBytes;
        this.#pending = [];
        this.#pendingBytes = 0;
        await writeAll(this.#file, buffers, this.#position);
        this.#position += bytes;
        this.#unsynced += bytes;
        // Written back while the rest arrives, so that the final fdatasync has little left to wait for.
        if (this.#unsynced >= SYNC_EVERY_BYTES && !this.#syncing) {
          this.#unsynced = 0;
          this.#syncing = this.#file.datasync().then(
            () => void (this.#syncing = undefined),
            (error: unknown) => {
              this.#syncing = undefined;
              this.#fail(error);
            },
          );
        }
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#writing = undefined;
    }
  }

  #fail(error: unknown): void {
    if (!this.#failed) this.#failure = error;
    this.#failed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

/** pwritev(2) until every byte is written: a regular file may take fewer bytes than asked. */
async function writeAll(file: fsp.FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    let { bytesWritten } = await file.writev(rest, position);
    position += bytesWritten;
    let done = 0;
    while (done < rest.length && bytesWritten >= rest[done]!.length) bytesWritten -= rest[done++]!.length;
    rest = rest.slice(done);
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}

/**
 * fsync(2) of body folders, shared by uploads landing in the same folder: a caller joins a sync
 * that starts after its link, never one already running, so its name is durable when it returns.
 * Folders stay open between syncs (at most OPEN_FOLDERS), which saves an open(2) and a close(2)
 * per upload; a folder is only ever removed with its user (forget()), whose id is never reused.
 */
class FolderSyncs {
  readonly #syncs = new Map<string, { running?: Promise<void>; next?: Promise<void> }>();
  /** Open folders, least recently used first. */
  readonly #open = new Map<string, OpenFolder>();

  sync(dir: string): Promise<void> {
    let state = this.#syncs.get(dir);
    if (!state) this.#syncs.set(dir, (state = {}));
    if (state.next) return state.next;
    if (!state.running) return this.#start(dir, state);
    const entry = state;
    entry.next = state.running.then(noop, noop).then(() => {
      entry.next = undefined;
      return this.#start(dir, entry);
    });
    return entry.next;
  }

  /** Closes the folders at or under `dir`, which is being removed or was found missing. */
  forget(dir: string): void {
    for (const [name, folder] of this.#open) {
      if (name === dir || name.startsWith(dir + path.sep)) this.#evict(name, folder);
    }
  }

  #start(dir: string, state: { running?: Promise<void>; next?: Promise<void> }): Promise<void> {
    const running: Promise<void> = this.#syncFolder(dir).finally(() => {
      if (state.running === running) state.running = undefined;
      if (!state.running && !state.next) this.#syncs.delete(dir);
    });
    state.running = running;
    return running;
  }

  async #syncFolder(dir: string): Promise<void> {
    let folder = this.#open.get(dir);
    if (folder) {
      this.#open.delete(dir);
    } else {
      folder = { handle: fsp.open(dir, 'r'), users: 0, evicted: false };
      for (const [name, oldest] of this.#open) {
        if (this.#open.size < OPEN_FOLDERS) break;
        this.#evict(name, oldest);
      }
    }
    this.#open.set(dir, folder);
    folder.users++;
    try {
      await (await folder.handle).sync();
    } catch (error) {
      this.#evict(dir, folder);
      throw error;
    } finally {
      folder.users--;
      if (folder.evicted && folder.users === 0) closeFolder(folder);
    }
  }

  #evict(dir: string, folder: OpenFolder): void {
    if (this.#open.get(dir) === folder) this.#open.delete(dir);
    folder.evicted = true;
    if (folder.users === 0) closeFolder(folder);
  }
}

interface OpenFolder {
  handle: Promise<fsp.FileHandle>;
  /** Syncs using the handle: it is closed once they are done. */
  users: number;
  evicted: boolean;
}

function closeFolder(folder: OpenFolder): void {
  folder.handle.then((handle) => handle.close()).catch(noop);
}

/** Body folders kept open for their next fsync. */
const OPEN_FOLDERS = 256;

const noop = (): void => undefined;

/** A staged body's blobs row: user, hash, size, and the body itself when it is kept there. */
function blobRowValues(userId: number, staged: BlobRow): unknown[] {
  return [userId, staged.sha256, staged.size, staged.bytes ?? null];
}

/** What a blobs row records of a body: its hash, its size, and the bytes when kept in the row. */
export type BlobRow = Pick<StagedBlob, 'sha256' | 'size' | 'bytes'>;

/** A claim of a row already there takes its lock and keeps its form (a file body stays a file). */
export const KEEP_EXISTING_ROW = 'ON CONFLICT (user_id, sha256) DO UPDATE SET size = EXCLUDED.size';
const CLAIM_ROW = `INSERT INTO blobs (user_id, sha256, size, body) VALUES ($1, $2, $3, $4) ${KEEP_EXISTING_ROW}`;

/**
 * Records a staged body for a user inside the writer's transaction, with its bytes when it is
 * kept in its row. For a published body, the upsert takes the row lock, so no collector can
 * unlink the file until this transaction ends; if one did just before, the file is put back.
 */
export async function claimBlob(tx: Queryable, blobs: BlobStore, userId: number, staged: StagedBlob): Promise<void> {
  await tx.query(CLAIM_ROW, blobRowValues(userId, staged));
  if (!keptInRow(staged)) await blobs.ensurePublished(userId, staged);
}

/**
 * claimBlob's row, written by the statement that writes the node referring to it (writeMember);
 * the caller then calls ensurePublished() for a body not kept in its row.
 */
export function blobClaimRow(userId: number, staged: BlobRow): Beside {
  return {
    params: blobRowValues(userId, staged),
    statements: (p) => [
      `INSERT INTO blobs (user_id, sha256, size, body) SELECT $${p}::bigint, $${p + 1}::text, $${p + 2}::bigint, $${p + 3}::bytea FROM written
       ${KEEP_EXISTING_ROW}`,
    ],
  };
}

/**
 * A stored body, or a byte range of it: from its blobs row when kept there, else a stream of its
 * file. Only a body no larger than SMALL_BODY_BYTES can be in its row; a larger one is not
 * looked up.
 */
export async function openBody(db: Queryable, blobs: BlobStore, userId: number, sha256: string, size: number, range?: ByteRange): Promise<Buffer | Readable> {
  if (size <= SMALL_BODY_BYTES) {
    const rows = await db.query<{ body: Buffer | null }>('SELECT body FROM blobs WHERE user_id = $1 AND sha256 = $2', [userId, sha256]);
    const body = rows[0]?.body;
    if (body) return range ? body.subarray(range.start, range.end + 1) : body;
  }
  return blobs.open(userId, sha256, range);
}

/**
 * Undoes a publish whose transaction did not commit: takes the row (waiting for any writer of
 * the same content), then collects it if nothing references it.
 */
export async function releaseBlob(db: Database, blobs: BlobStore, userId: number, staged: StagedBlob): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(CLAIM_ROW, blobRowValues(userId, staged));
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
      const gone = await tx.query<{ sha256: string; in_file: boolean }>(
        `DELETE FROM blobs b WHERE b.user_id = $1 AND b.sha256 = ANY($2::text[])
           AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.user_id = b.user_id AND n.blob_sha256 = b.sha256)
         RETURNING sha256, body IS NULL AS in_file`,
        [userId, shas],
      );
      // Unlinked before commit while the rows are locked, so no writer can claim them meanwhile.
      for (const { sha256, in_file } of gone) if (in_file) await blobs.remove(userId, sha256);
      return gone.length;
    }, { frees: true });
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
