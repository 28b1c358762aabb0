/** The room the embedded store keeps free: its floors, and how often it reads the disk. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiskRoom, MIN_FREE_BYTES, MIN_FREE_TO_FREE_BYTES, StorageFullError } from '../src/store/disk-room.js';
import { isStorageFull } from '../src/store/blobs.js';

test('changes need MIN_FREE_BYTES free, changes that free room MIN_FREE_TO_FREE_BYTES; the refusal is a full disk', () => {
  let free = MIN_FREE_BYTES;
  const room = new DiskRoom('/data', { readingMs: 0, freeBytes: () => free });
  room.check();
  free = MIN_FREE_BYTES - 1;
  assert.throws(() => room.check(), (error: unknown) => error instanceof StorageFullError && isStorageFull(error) && /64\.0 MiB/.test(error.message));
  room.check(true);
  free = MIN_FREE_TO_FREE_BYTES - 1;
  assert.throws(() => room.check(true), StorageFullError);
});

test('a reading of the free space serves the checks of the next readingMs, then the disk is read again', async () => {
  const reads: string[] = [];
  let free = MIN_FREE_BYTES;
  const room = new DiskRoom('/data', { readingMs: 50, freeBytes: (dir) => (reads.push(dir), free) });
  room.check();
  free = 0;
  room.check();
  assert.deepEqual(reads, ['/data']);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.throws(() => room.check(), StorageFullError);
  assert.deepEqual(reads, ['/data', '/data']);
});
