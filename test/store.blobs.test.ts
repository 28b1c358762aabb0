import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createHash } from 'node:crypto';
import { BodyTooLargeError, claimBlob, collectBlobs, FileBlobStore, keptInRow, openBody, removeOrphanBodies, SMALL_BODY_BYTES, type ByteRange } from '../src/store/blobs.js';
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
const text = async (stream: Readable) => Buffer.concat(await stream.toArray()).toString();
/** A text past SMALL_BODY_BYTES: such a body is a file of the blob store, not kept in its row. */
const large = (text: string) => text.padEnd(SMALL_BODY_BYTES + 1, '.');

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

test('a small body is kept in its row: no file, read whole and by range, collected with its row; one stored as a file before is read from it', async () => {
  const files = () => fs.readdirSync(root(), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
  const before = files();
  const staged = await blobs.stage(user.id, body('kept in its row'), 1000);
  assert.ok(keptInRow(staged));
  const { node: home } = await resolvePath(store.db, user.id, ['files']);
  const node = await store.db.transaction(async (tx) => {
    const node = await insertNode(tx, { userId: user.id, parentId: home!.id, name: 'in-row.txt', kind: 'file', blobSha256: staged.sha256, size: staged.size });
    await claimBlob(tx, blobs, user.id, staged);
    return node;
  });
  assert.equal(files(), before, 'no file written');
  const read = async (sha256: string, size: number, range?: ByteRange) => {
    const opened = await openBody(store.db, blobs, user.id, sha256, size, range);
    return Buffer.isBuffer(opened) ? opened.toString() : (await text(opened));
  };
  assert.equal(await read(staged.sha256, staged.size), 'kept in its row');
  assert.equal(await read(staged.sha256, staged.size, { start: 3, end: 6 }), 't in');
  // The row goes with its last reference; nothing on disk is touched.
  await store.db.query('DELETE FROM nodes WHERE user_id = $1 AND id = $2', [user.id, node.id]);
  assert.equal(await collectBlobs(store.db, blobs, user.id, [staged.sha256]), 1);
  assert.equal((await store.db.query('SELECT 1 FROM blobs WHERE sha256 = $1', [staged.sha256])).length, 0);

  // Written before migration 10: a small body as a file, its row without body.
  const older = await blobs.stage(user.id, body('small, in a file'), 1000);
  await blobs.publish(user.id, older);
  await store.db.query('INSERT INTO blobs (user_id, sha256, size) VALUES ($1, $2, $3)', [user.id, older.sha256, older.size]);
  assert.equal(await read(older.sha256, older.size), 'small, in a file');
  assert.equal(await read(older.sha256, older.size, { start: 7, end: 8 }), 'in');
  assert.equal(await collectBlobs(store.db, blobs, user.id, [older.sha256]), 1);
  assert.equal(files(), before, 'its file went with its row');
});

test('a file removed by a collector between publish and claim is put back by the claim', async () => {
  const staged = await blobs.stage(user.id, body(large('raced content')), SMALL_BODY_BYTES * 2);
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
  assert.equal(fs.readFileSync(file, 'utf8'), large('raced content'));
  // Referenced: collection keeps it.
  assert.equal(await collectBlobs(store.db, blobs, user.id, [staged.sha256]), 0);
  assert.ok(fs.existsSync(file));
});

test('a body a crash left without a row is removed at start-up; recorded and recent ones stay', async () => {
  const orphan = await blobs.stage(user.id, body(large('published, never committed')), SMALL_BODY_BYTES * 2);
  await blobs.publish(user.id, orphan);
  await orphan.discard();
  const recorded = await blobs.stage(user.id, body(large('committed')), SMALL_BODY_BYTES * 2);
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
  assert.equal(fs.readFileSync(file(recorded.sha256), 'utf8'), large('committed'));
});
