/**
 * The disk's own speed for what a streamed PUT asks of it: a file written sequentially and made
 * durable, in the file system the servers' data goes to, both past the page cache (O_DIRECT, as
 * Davenport writes large bodies: `dd oflag=direct conv=fdatasync`) and through it (as the peers
 * write: `dd conv=fdatasync`). Printed with the machine, so that a file row can be read against
 * what the disk allowed then.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pageAlignedBuffer } from '../src/store/direct-io.js';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface DiskWrite {
  /** MB/s past the page cache; undefined where the file system refuses O_DIRECT. */
  direct: number | undefined;
  /** MB/s through the page cache. */
  buffered: number;
}

/** Writes `bytes` to a new file in `dir` each way and fdatasyncs it; MB/s, the files removed. */
export function measureDiskWrite(bytes: number, dir: string = os.tmpdir()): DiskWrite {
  const O_DIRECT = fs.constants.O_DIRECT as number | undefined;
  let direct: number | undefined;
  if (O_DIRECT !== undefined) {
    try {
      direct = writeFile(bytes, dir, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | O_DIRECT);
    } catch {
      direct = undefined; // EINVAL: no O_DIRECT on this file system
    }
  }
  return { direct, buffered: writeFile(bytes, dir, 'w') };
}

function writeFile(bytes: number, dir: string, flags: string | number): number {
  const file = path.join(dir, `davenport-bench-disk-${process.pid}`);
  const fd = fs.openSync(file, flags);
  try {
    const chunk = pageAlignedBuffer(CHUNK_BYTES).fill(0x5a);
    const started = performance.now();
    for (let written = 0; written < bytes; ) written += fs.writeSync(fd, chunk, 0, Math.min(CHUNK_BYTES, bytes - written));
    fs.fdatasyncSync(fd);
    return bytes / 1e6 / ((performance.now() - started) / 1000);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}
