/**
 * The disk's own speed for what a streamed PUT asks of it: a file written sequentially and made
 * durable (what `dd conv=fdatasync` measures), in the file system the servers' data goes to.
 * Printed with the machine, so that a file row can be read against what the disk allowed then.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CHUNK_BYTES = 1024 * 1024;

/** Writes `bytes` to a new file in `dir` and fdatasyncs it; MB/s, the file removed. */
export function measureDiskWrite(bytes: number, dir: string = os.tmpdir()): number {
  const file = path.join(dir, `davenport-bench-disk-${process.pid}`);
  const chunk = Buffer.alloc(CHUNK_BYTES, 0x5a);
  const fd = fs.openSync(file, 'w');
  try {
    const started = performance.now();
    for (let written = 0; written < bytes; ) written += fs.writeSync(fd, chunk, 0, Math.min(CHUNK_BYTES, bytes - written));
    fs.fdatasyncSync(fd);
    return bytes / 1e6 / ((performance.now() - started) / 1000);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}
