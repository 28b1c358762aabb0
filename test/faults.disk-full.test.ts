/**
 * The disk under the file bodies fills up during an upload: 507 Insufficient Storage, the
 * previous version intact, no temporary file left behind, and the server keeps serving. The
 * embedded store's own disk: faults.store-full.test.ts.
 * The blob directory is a small tmpfs mounted for the test, so the ENOSPC is a real one.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, test } from 'node:test';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { basicAuthorization } from './helpers/server.js';
import { mountSmallDisk, unmountSmallDisk } from './helpers/small-disk.js';
import { createTestLocation, type TestLocation } from './helpers/store.js';

const MiB = 1024 * 1024;

let location: TestLocation | undefined;
let server: ServerProcess | undefined;
let mounted: string | undefined;
after(async () => {
  agent.destroy();
  await server?.stop('SIGKILL');
  if (mounted) unmountSmallDisk(mounted);
  await location?.remove();
});

/** One keep-alive connection for every upload: a refused upload must leave it usable. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** A body of `size` bytes whose content depends on `seed`, streamed in 1 MiB chunks. */
function upload(url: string, authorization: string, size: number, seed: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, method: 'PUT', headers: { Authorization: authorization, 'Content-Length': size } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(MiB, seed);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const part = chunk.subarray(0, Math.min(MiB, size - sent));
        sent += part.length;
        if (!req.write(part)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

test('an upload that fills the disk is 507; the previous version stays, no temporary file is left', { timeout: 120_000 }, async (t) => {
  location = await createTestLocation();
  const blobsDir = path.join(location.dataDir, 'blobs');
  const refused = mountSmallDisk(blobsDir, '8m');
  if (refused) return t.skip(refused);
  mounted = blobsDir;

  server = await spawnServer({ DATA_DIR: location.dataDir, ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}) });
  const auth = basicAuthorization('admin', /password: (\S+)/.exec(server.output())![1]!);
  const url = `${server.url}/dav/files/admin/report.bin`;
  const tmpDir = path.join(blobsDir, 'tmp');

  assert.equal(await upload(url, auth, 3 * MiB, 1), 201, 'a 3 MiB file fits on the 8 MiB disk');
  const first = await fetch(url, { headers: { Authorization: auth } });
  assert.equal(first.status, 200);
  const etag = first.headers.get('etag');
  assert.equal(sha256(Buffer.from(await first.arrayBuffer())), sha256(Buffer.alloc(3 * MiB, 1)));

  // 3 MiB kept + 6 MiB staged > 8 MiB: refused once 4 MiB are in (the room check, store/disk-room.ts).
  assert.equal(await upload(url, auth, 6 * MiB, 2), 507);

  const after507 = await fetch(url, { headers: { Authorization: auth } });
  assert.equal(after507.status, 200);
  assert.equal(after507.headers.get('etag'), etag, 'the previous version is still the current one');
  assert.equal(sha256(Buffer.from(await after507.arrayBuffer())), sha256(Buffer.alloc(3 * MiB, 1)));
  assert.deepEqual(fs.readdirSync(tmpDir), [], 'no staged temporary file is left');

  // A 3 MiB upload only fits if the failed one freed its space: the server keeps serving.
  assert.equal(await upload(`${server.url}/dav/files/admin/second.bin`, auth, 3 * MiB, 3), 201);
  const second = await fetch(`${server.url}/dav/files/admin/second.bin`, { headers: { Authorization: auth } });
  assert.equal(sha256(Buffer.from(await second.arrayBuffer())), sha256(Buffer.alloc(3 * MiB, 3)));
  // A new file that does not fit, under the 4 MiB between room checks: the staging write hits ENOSPC,
  // refused the same way, and leaves nothing behind.
  assert.equal(await upload(`${server.url}/dav/files/admin/third.bin`, auth, 4 * MiB, 4), 507);
  assert.equal((await fetch(`${server.url}/dav/files/admin/third.bin`, { headers: { Authorization: auth } })).status, 404);
  assert.deepEqual(fs.readdirSync(tmpDir), []);
  assert.doesNotMatch(server.output(), /unhandled error/);
  assert.equal(server.child.exitCode, null);
});
