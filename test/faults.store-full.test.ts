/**
 * The disk of the embedded store fills up. PostgreSQL stops with a PANIC when its WAL cannot be
 * written, and PGlite's session never answers again: before store/disk-room.ts, the PUT that met
 * the full disk and every request after it hung, with the database thread spinning. Now changes
 * are refused with 507 while the disk keeps the WAL's room, reads and DELETEs go on, and once
 * the disk has room again, so do writes. The data directory is a tmpfs mounted for the test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { freeBytes, MIN_FREE_BYTES } from '../src/store/disk-room.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { basicAuthorization } from './helpers/server.js';
import { embeddedStoreOnSmallDisk, type StoreOnSmallDisk } from './helpers/small-disk.js';

const MiB = 1024 * 1024;

let store: StoreOnSmallDisk | undefined;
let server: ServerProcess | undefined;
after(async () => {
  await server?.stop('SIGKILL');
  await store?.remove();
});

/** A request that must be answered within 10 s: the failure this test guards against was a hang. */
async function send(url: string, auth: string, method: string, body?: Buffer, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(url, { method, headers: { Authorization: auth, ...headers }, body, signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return response.status;
}

test('a full disk under the embedded store: 507 for changes, reads and DELETE go on, writes again once there is room', { timeout: 240_000 }, async (t) => {
  const mounted = await embeddedStoreOnSmallDisk('160m');
  if (typeof mounted === 'string') return t.skip(mounted);
  store = mounted;
  const { disk } = store;

  server = await spawnServer({ DATA_DIR: disk, DATABASE_URL: '' });
  const auth = basicAuthorization('admin', /password: (\S+)/.exec(server.output())![1]!);
  const files = `${server.url}/dav/files/admin/`;
  assert.equal(await send(`${files}kept.txt`, auth, 'PUT', Buffer.from('kept')), 201);

  // Leave 8 MiB above the floor, then write incompressible small files (kept in the store's rows).
  const filler = path.join(disk, 'filler');
  fs.writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(disk) - MIN_FREE_BYTES - 8 * MiB)));
  let written = 0;
  let status = 201;
  // Without the room check, PostgreSQL meets ENOSPC within ~140 MiB of WAL and bodies.
  while (written < 4_000) {
    status = await send(`${files}f${written}.bin`, auth, 'PUT', randomBytes(40 * 1024));
    if (status !== 201) break;
    written++;
  }
  assert.equal(status, 507, `after ${written} files`);
  assert.ok(written > 20 && freeBytes(disk) > 16 * MiB, `${written} files written, ${(freeBytes(disk) / MiB).toFixed(1)} MiB left`);
  // Each kind of change is refused the same way, and leaves nothing behind.
  assert.equal(await send(`${files}folder/`, auth, 'MKCOL'), 507);
  // RFC 4331 §6: the refusal names its precondition.
  const refused = await fetch(`${files}more.bin`, { method: 'PUT', headers: { Authorization: auth }, body: randomBytes(1024), signal: AbortSignal.timeout(10_000) });
  assert.equal(refused.status, 507);
  assert.match(await refused.text(), /<D:error xmlns:D="DAV:"><D:sufficient-disk-space\/>/);
  assert.equal(await send(`${files}folder/`, auth, 'PROPFIND', undefined, { Depth: '0' }), 404);

  // Reads go on, and so does a DELETE, which frees room.
  assert.equal(await send(`${files}kept.txt`, auth, 'GET'), 200);
  assert.equal(await send(files, auth, 'PROPFIND', undefined, { Depth: '1' }), 207);
  assert.equal(await send(`${server.url}/healthz`, auth, 'GET'), 200);
  assert.equal(await send(`${files}f0.bin`, auth, 'DELETE'), 204);
  assert.equal(await send(`${files}f0.bin`, auth, 'GET'), 404);

  // Room again: writes go on, and what was written before is all there.
  fs.rmSync(filler);
  // The store reads the free space at most every 100 ms.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(await send(`${files}after.txt`, auth, 'PUT', Buffer.from('after')), 201);
  assert.equal(await send(`${files}f${written - 1}.bin`, auth, 'GET'), 200);
  assert.doesNotMatch(server.output(), /PANIC|unhandled error/);
  assert.equal(server.child.exitCode, null);
});
