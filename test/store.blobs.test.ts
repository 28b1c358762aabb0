import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createHash } from 'node:crypto';
import { BodyTooLargeError, claimBlob, collectBlobs, FileBlobStore, removeOrphanBodies, SMALL_BODY_BYTES } from '../src/store/blobs.js';
import { insertNode, resolvePath } from '../src/store/nodes.js';
import { createUser, type User } from '../src/store/users.js';
import { openTestStore, type TestStore } from './helpers/store.js';

let store: TestStore;
let blobs: FileBlobStore;
let user: User;
const root = () => path.join(store.dataDir, 'blobs');

before(async () => {
  store = await openTestStore();
  blobs = new FileBlobStore(root());
  user = await createUser(store.db, { name: 'alice', password: 'alice-password-1' });
});
after(() => store.close());

const body = (text: string) => Readable.from([Buffer.from(text)]);

test('stage hashes and counts the body; a body over the limit leaves no file', async () => {
  const staged = await blobs.stage(user.id, body('hello'), 100);
  assert.equal(staged.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  assert.equal(staged.size, 5);
  await staged.discard();
  await assert.rejects(blobs.stage(user.id, body('x'.repeat(101)), 100), BodyTooLargeError);
  assert.deepEqual(fs.readdirSync(path.join(root(), 'tmp')), []);
});

test('a small body stays in memory until published; a body growing past the limit keeps its first chunks', async () => {
  const bodyFile = (sha256: string) => path.join(root(), String(user.id), sha256.slice(0, 2), sha256);
  const small = await blobs.stage(user.id, body('small body'), 1000);
  assert.deepEqual(fs.readdirSync(path.join(root(), 'tmp')), []);
  await blobs.publish(user.id, small);
  assert.equal(fs.readFileSync(bodyFile(small.sha256), 'utf8'), 'small body');
  assert.deepEqual(fs.readdirSync(path.join(root(), 'tmp')), []);
  // Published twice (the same content from another upload): the file is kept as it is.
  const again = await blobs.stage(user.id, body('small body'), 1000);
  await blobs.publish(user.id, again);
  assert.equal(fs.readFileSync(bodyFile(small.sha256), 'utf8'), 'small body');

  // Chunks of 10 000 bytes, each with its own byte value, crossing SMALL_BODY_BYTES.
  const chunks = Array.from({ length: Math.ceil(SMALL_BODY_BYTES / 10_000) + 2 }, (_, i) => Buffer.alloc(10_000, 0x41 + i));
  const whole = Buffer.concat(chunks);
  const large = await blobs.stage(user.id, Readable.from(chunks), whole.length);
  assert.equal(large.sha256, createHash('sha256').update(whole).digest('hex'));
  assert.equal(fs.readdirSync(path.join(root(), 'tmp')).length, 1);
  await blobs.publish(user.id, large);
  await large.discard();
  assert.ok(fs.readFileSync(bodyFile(large.sha256)).equals(whole));
  assert.deepEqual(fs.readdirSync(path.join(root(), 'tmp')), []);
  // No row records them: gone again, so the tests after this one start from recorded bodies only.
  await blobs.remove(user.id, small.sha256);
  await blobs.remove(user.id, large.sha256);
});

test('a file removed by a collector between publish and claim is put back by the claim', async () => {
  const staged = await blobs.stage(user.id, body('raced content'), 1000);
  await blobs.publish(user.id, staged);
  const file = path.join(root(), String(user.id), staged.sha256.slice(0, 2), staged.sha256);
  assert.ok(fs.existsSync(file));
  fs.rmSync(file); // what a concurrent collection of an old row of the same content does
  const { node: home } = await resolvePath(store.db, user.id, ['files']);
  await store.db.transaction(async (tx) => {
    await insertNode(tx, { userId: user.id, parentId: home!.id, name: 'raced.txt', kind: 'file', blobSha256: staged.sha256, size: staged.size });
    await claimBlob(tx, blobs, user.id, staged);
  });
  await staged.discard();
  assert.equal(fs.readFileSync(file, 'utf8'), 'raced content');
  // Referenced: collection keeps it.
  assert.equal(await collectBlobs(store.db, blobs, user.id, [staged.sha256]), 0);
  assert.ok(fs.existsSync(file));
});

test('a body a crash left without a row is removed at start-up; recorded and recent ones stay', async () => {
  const orphan = await blobs.stage(user.id, body('published, never committed'), 1000);
  await blobs.publish(user.id, orphan);
  await orphan.discard();
  const recorded = await blobs.stage(user.id, body('committed'), 1000);
  await blobs.publish(user.id, recorded);
  const { node: home } = await resolvePath(store.db, user.id, ['files']);
  await store.db.transaction(async (tx) => {
    await insertNode(tx, { userId: user.id, parentId: home!.id, name: 'kept.txt', kind: 'file', blobSha256: recorded.sha256, size: recorded.size });
    await claimBlob(tx, blobs, user.id, recorded);
  });
  await recorded.discard();
  const file = (sha256: string) => path.join(root(), String(user.id), sha256.slice(0, 2), sha256);
  // Too recent for a sweep that spares the last minute (a writer may be mid-commit).
  assert.equal(await removeOrphanBodies(store.db, blobs, 60_000), 0);
  assert.equal(await removeOrphanBodies(store.db, blobs, 0), 1);
  assert.equal(fs.existsSync(file(orphan.sha256)), false);
  assert.equal(fs.readFileSync(file(recorded.sha256), 'utf8'), 'committed');
});
