import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient, type FileStat, type WebDAVClient } from 'webdav';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let client: WebDAVClient;

before(async () => {
  server = await startTestServer();
  const user = server.users[0]!;
  client = createClient(server.at(`/dav/files/${user.name}/`), { username: user.name, password: user.password });
});
after(() => server.close());

/** An independent client (npm `webdav`) doing what a sync app does. */
test('the webdav client uploads, lists, moves, copies and deletes', async () => {
  await client.createDirectory('/projects');
  await client.putFileContents('/projects/readme.md', '# Hello\n');
  await client.putFileContents('/projects/data.bin', Buffer.from([0, 1, 2, 255]));
  const listing = (await client.getDirectoryContents('/projects')) as FileStat[];
  assert.deepEqual(listing.map((f) => f.basename).sort(), ['data.bin', 'readme.md']);
  assert.equal(listing.find((f) => f.basename === 'data.bin')!.size, 4);

  await client.moveFile('/projects/readme.md', '/projects/README.md');
  await client.copyFile('/projects/data.bin', '/projects/copy.bin');
  assert.equal(await client.getFileContents('/projects/README.md', { format: 'text' }), '# Hello\n');
  assert.deepEqual([...((await client.getFileContents('/projects/copy.bin')) as Buffer)], [0, 1, 2, 255]);
  assert.equal(await client.exists('/projects/readme.md'), false);

  await client.deleteFile('/projects');
  assert.equal(await client.exists('/projects'), false);
});

test('the webdav client edits a locked file with its token; others are refused', async () => {
  await client.putFileContents('/locked.txt', 'v1');
  const lock = await client.lock('/locked.txt');
  assert.ok(lock.token);
  // Without the token the write is refused with 423 Locked.
  const refused = await server.request('PUT', '/dav/files/alice/locked.txt', { body: 'intruder' });
  assert.equal(refused.status, 423);
  // With it, the owner edits.
  await client.putFileContents('/locked.txt', 'v2', { headers: { If: `(<${lock.token}>)` } });
  assert.equal(await client.getFileContents('/locked.txt', { format: 'text' }), 'v2');
  await client.unlock('/locked.txt', lock.token);
  await client.putFileContents('/locked.txt', 'v3');
  assert.equal(await client.getFileContents('/locked.txt', { format: 'text' }), 'v3');
});
