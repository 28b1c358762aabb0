/**
 * Large bodies written past the page cache (O_DIRECT, open(2)), as nginx's `directio` and object
 * stores such as MinIO do. A durable upload must reach the disk before it is acknowledged anyway;
 * through the page cache every byte is copied twice, must first be given a page of memory (on a
 * virtual machine whose host reclaims idle guest memory, the dearest step: buffered writes ran at
 * 230–400 MB/s where direct ones ran at 1.5–1.9 GB/s), and a gigabyte upload evicts what the
 * database and recent small files keep cached.
 *
 * O_DIRECT asks for buffers, offsets and lengths aligned to the device's block. Node.js cannot
 * align a Buffer, but a WebAssembly memory is mapped whole pages at a time, so slices of one are
 * page-aligned. Whether the file system takes direct writes at all (some refuse O_DIRECT, as tmpfs
 * did before Linux 6.6) is probed once, where bodies are staged; where it does not, and when every
 * block is taken, bodies are written through the cache.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { BlockHasher, type BlockHash } from './block-hasher.js';

/** Offsets, lengths and addresses of direct writes are multiples of this (the page size, which every block size divides). */
export const DIRECT_ALIGNMENT = 4096;
/**
 * Bytes per direct write, and the size below which a body is written through the page cache.
 * An upload holds two blocks resident: with 4 MiB blocks the memory a fresh server's 1 GiB PUT
 * and GET added was 60.1 and 63.0 MB (its goal is 64), with 2 MiB 56.8 and 58.2, the PUT as fast
 * (795–932 MB/s either way; 1 MiB blocks ran 5–8% slower). AMD EPYC, 2 cores, interleaved.
 */
export const DIRECT_BLOCK_BYTES = 2 * 1024 * 1024;
/** Blocks in the pool: two per upload (one filling while the other is written). */
const POOL_BLOCKS = 8;

interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number; shared?: boolean }) => WasmMemory } }).WebAssembly;
const WASM_PAGE_BYTES = 64 * 1024;

/**
 * A page-aligned buffer of `bytes` (a multiple of 64 KiB), as O_DIRECT asks, in memory other
 * threads can read where it is; its pages are resident only once written.
 */
export function pageAlignedBuffer(bytes: number): Buffer {
  const pages = bytes / WASM_PAGE_BYTES;
  return Buffer.from(new Memory({ initial: pages, maximum: pages, shared: true }).buffer);
}

/**
 * Page-aligned blocks in one shared memory, made on first use (its pages are only resident once
 * written), and the thread that hashes them (block-hasher.ts).
 */
class AlignedBlocks {
  #free: Buffer[] | undefined;
  #hasher: BlockHasher | undefined;

  take(): Buffer | undefined {
    if (!this.#free) {
      const memory = pageAlignedBuffer(POOL_BLOCKS * DIRECT_BLOCK_BYTES);
      this.#free = Array.from({ length: POOL_BLOCKS }, (_, i) => memory.subarray(i * DIRECT_BLOCK_BYTES, (i + 1) * DIRECT_BLOCK_BYTES));
      this.#hasher = new BlockHasher(memory.buffer as SharedArrayBuffer);
    }
    return this.#free.pop();
  }

  give(block: Buffer): void {
    this.#free!.push(block);
  }

  /** A new body's hash, on the hashing thread (after a take()). */
  hash(): BlockHash {
    return this.#hasher!.start();
  }
}

const blocks = new AlignedBlocks();

const O_DIRECT = fs.constants.O_DIRECT as number | undefined;

/** Whether files in `folder` take direct writes from the pool's blocks: one aligned write to a probe file. */
export async function probeDirectWrites(folder: string): Promise<boolean> {
  if (O_DIRECT === undefined) return false;
  const block = blocks.take();
  if (!block) return false;
  const probe = path.join(folder, `direct-probe-${randomUUID()}`);
  try {
    const file = await fsp.open(probe, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_DIRECT);
    try {
      await file.write(block, 0, DIRECT_ALIGNMENT, 0);
      return true;
    } finally {
      await file.close();
    }
  } catch {
    // EINVAL: the file system refuses O_DIRECT or this alignment.
    return false;
  } finally {
    blocks.give(block);
    await fsp.rm(probe, { force: true });
  }
}

/** Where a staged body is written as it arrives: write() in order, then finish() or abandon(), then close(). */
export interface Spool {
  /** Whether the spool hashes what it is given (finish() then gives the SHA-256), so the caller need not. */
  readonly hashes: boolean;
  write(chunk: Buffer): Promise<void>;
  /**
   * Writes what is left and makes the file durable (fdatasync(2), which also writes its size);
   * gives the hex SHA-256 of everything written when the spool hashes.
   */
  finish(): Promise<string | undefined>;
  /** Waits for the writes still running, so the file can be closed and removed. */
  abandon(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A spool that gathers the body in aligned blocks and writes and hashes each full block (with
 * O_DIRECT, and on the hashing thread) while the next fills. A body that never fills its first
 * block is written through the page cache at the end (small enough that the cache's cost does
 * not matter, and it may well be read soon);
 * so is the tail of a large one that is not a whole number of DIRECT_ALIGNMENT units.
 * Undefined when the pool has no two blocks free (as many large uploads at once as it serves):
 * the caller then writes through the page cache.
 */
export async function openDirectSpool(file: string): Promise<Spool | undefined> {
  const first = blocks.take();
  const second = first && blocks.take();
  if (!first || !second) {
    if (first) blocks.give(first);
    return undefined;
  }
  try {
    return new DirectSpool(file, await fsp.open(file, 'wx'), first, second);
  } catch (error) {
    blocks.give(first);
    blocks.give(second);
    throw error;
  }
}

class DirectSpool implements Spool {
  readonly hashes = true;
  readonly #path: string;
  readonly #hash = blocks.hash();
  readonly #buffered: fsp.FileHandle;
  #direct: fsp.FileHandle | undefined;
  #filling: Buffer;
  #spare: Buffer;
  #filled = 0;
  /** Where the block being filled goes in the file. */
  #position = 0;
  #writing: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;
  #closed = false;

  constructor(file: string, buffered: fsp.FileHandle, first: Buffer, second: Buffer) {
    this.#path = file;
    this.#buffered = buffered;
    this.#filling = first;
    this.#spare = second;
  }

  async write(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const copied = copyIntoShared(chunk, offset, this.#filling, this.#filled);
      this.#filled += copied;
      offset += copied;
      if (this.#filled === DIRECT_BLOCK_BYTES) await this.#writeFilledBlock();
    }
  }

  /** Starts the full block's write once the previous one is done, and goes on filling the other block. */
  async #writeFilledBlock(): Promise<void> {
    await this.#settle();
    this.#direct ??= await fsp.open(this.#path, fs.constants.O_WRONLY | O_DIRECT!);
    const block = this.#filling;
    // The block is filled again only once both are done (#settle). A failure is kept at once: the
    // next block fills over many turns of the event loop, and a rejection left without a handler
    // meanwhile would end the process (Node.js's default for unhandled rejections).
    this.#writing = Promise.all([writeAll(this.#direct, block, DIRECT_BLOCK_BYTES, this.#position), this.#hash.update(block, DIRECT_BLOCK_BYTES)]).then(noop, (error: unknown) => void (this.#failure ??= { error }));
    this.#position += DIRECT_BLOCK_BYTES;
    this.#filling = this.#spare;
    this.#spare = block;
    this.#filled = 0;
  }

  /** Waits for the running write; throws its error, and any earlier one, from then on. */
  async #settle(): Promise<void> {
    const writing = this.#writing;
    this.#writing = undefined;
    if (writing) await writing;
    if (this.#failure) throw this.#failure.error;
  }

  async finish(): Promise<string> {
    await this.#settle();
    await Promise.all([this.#filled > 0 ? this.#hash.update(this.#filling, this.#filled) : undefined, this.#writeRest()]);
    return this.#hash.digest();
  }

  async #writeRest(): Promise<void> {
    // The whole aligned part directly (when the body already went direct), the rest through the cache.
    const aligned = this.#direct ? this.#filled - (this.#filled % DIRECT_ALIGNMENT) : 0;
    if (aligned > 0) await writeAll(this.#direct!, this.#filling, aligned, this.#position);
    if (this.#filled > aligned) await writeAll(this.#buffered, this.#filling.subarray(aligned, this.#filled), this.#filled - aligned, this.#position + aligned);
    // The device may still cache direct writes: fdatasync(2) flushes them with the rest.
    await this.#buffered.datasync();
  }

  async abandon(): Promise<void> {
    await this.#settle().catch(() => {});
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.abandon();
    this.#hash.drop();
    blocks.give(this.#filling);
    blocks.give(this.#spare);
    await Promise.all([this.#buffered.close(), this.#direct?.close()]);
  }
}

/**
 * Copies `source` from `sourceStart` into the shared `target` at `targetStart`, as much as fits;
 * gives the bytes copied. V8 copies into a SharedArrayBuffer (Buffer#copy, TypedArray#set) with
 * relaxed atomic loads and stores, a word at a time where source and target are equally aligned
 * to 8 bytes and a byte at a time where not: during a 1 GiB upload that copy alone was 15% of the
 * serving thread (`perf`: v8::internal::relaxed_memmove), and byte by byte, once a body's first
 * chunk had left the rest misaligned, 7× slower still. Buffer#fill with a buffer for its value is
 * one memcpy(3) in Node's own code (node_buffer.cc), whatever the alignment: 64 KiB chunks went
 * 13 ms per GiB here, against 42 (aligned) and 322 (misaligned) by Buffer#copy. The block is not
 * read by the hashing thread while it is being filled, so a plain copy races with nothing.
 */
export function copyIntoShared(source: Buffer, sourceStart: number, target: Buffer, targetStart: number): number {
  const length = Math.min(source.length - sourceStart, target.length - targetStart);
  // fill() refuses an empty value.
  if (length > 0) target.fill(source.subarray(sourceStart, sourceStart + length), targetStart, targetStart + length);
  return length;
}

/** pwrite(2) until `length` bytes of `buffer` are written at `position`. */
async function writeAll(file: fsp.FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await file.write(buffer, done, length - done, position + done);
    if (bytesWritten === 0) throw new Error('the file system took no bytes');
    done += bytesWritten;
  }
}

function noop(): void {}
