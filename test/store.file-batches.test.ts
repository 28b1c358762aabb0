import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Database } from '../src/store/db.js';
import { fileWrites, writeFileBatch, type FileWrite, type Folder } from '../src/store/file-batches.js';
import { WriteBatcher } from '../src/store/write-batches.js';
import { fileEtag, resolvePath } from '../src/store/nodes.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { countingPipelined } from './helpers/store.js';

let server: TestServer;
before(async () => (server = await startTestServer()));
after(() => server.close());

const home = '/dav/files/alice/';
const db = () => server.store.db;
const userId = () => server.users[0]!.user.id;

type Rows = { userId: number; id: number };

/** A new folder: as batches name it (by path), and its row (by id) for the checks below. */
async function folder(name: string): Promise<{ at: Folder; rows: Rows }> {
  assert.equal((await server.request('MKCOL', home + name)).status, 201);
  const { node } = await resolvePath(db(), userId(), ['files', name]);
  assert.ok(node);
  return { at: { userId: node.userId, path: ['files', name], kind: 'collection' }, rows: { userId: node.userId, id: node.id } };
}

function file(name: string, text: string, expected: 'any' | 'absent' = 'any'): FileWrite {
  const bytes = Buffer.from(text);
  return { name, blob: { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, bytes }, contentType: 'text/plain', expected };
}

const syncToken = async ({ rows }: { rows: Rows }) => (await db().query<{ sync_token: number }>('SELECT sync_token FROM nodes WHERE user_id = $1 AND id = $2', [rows.userId, rows.id]))[0]!.sync_token;
const changes = ({ rows }: { rows: Rows }) =>
  db().query<{ token: number; name: string }>('SELECT token, name FROM changes WHERE user_id = $1 AND collection_id = $2 AND NOT deleted ORDER BY token', [rows.userId, rows.id]);

test('a batch writes its files, their bodies and one change-log entry each, on tokens of their own in order', async () => {
  const parent = await folder('batch-one');
  const files = Array.from({ length: 5 }, (_, i) => file(`f${i}.txt`, `body ${i}`));
  // Two files of one body: its row is claimed once.
  files.push(file('same.txt', 'body 0'));
  const written = await db().pipelined((tx) => writeFileBatch(tx, parent.at, 'any', files));
  assert.equal(written.size, files.length);
  for (const f of files) {
    const member = written.get(f.name);
    assert.ok(member, f.name);
    assert.equal(member.created, true);
    assert.equal(member.previousBlob, null);
    assert.equal(member.node.etag, fileEtag(f.blob.sha256));
    assert.equal(member.node.size, f.blob.size);
    const got = await server.request('GET', home + 'batch-one/' + f.name);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), f.blob.bytes.toString());
  }
  assert.equal(await syncToken(parent), files.length);
  assert.deepEqual((await changes(parent)).map((c) => [c.token, c.name]), files.map((f, i) => [i + 1, f.name]));

  // Replacing: the bodies replaced are reported, and each name keeps only its latest entry.
  const again = await db().pipelined((tx) => writeFileBatch(tx, parent.at, 'any', [file('f1.txt', 'new 1'), file('f3.txt', 'new 3')]));
  assert.equal(again.get('f1.txt')!.created, false);
  assert.equal(again.get('f1.txt')!.previousBlob, files[1]!.blob.sha256);
  assert.equal(again.get('f3.txt')!.previousBlob, files[3]!.blob.sha256);
  assert.equal(await syncToken(parent), files.length + 2);
  assert.deepEqual((await changes(parent)).map((c) => [c.token, c.name]), [[1, 'f0.txt'], [3, 'f2.txt'], [5, 'f4.txt'], [6, 'same.txt'], [7, 'f1.txt'], [8, 'f3.txt']]);
  assert.equal(await (await server.request('GET', home + 'batch-one/f3.txt')).text(), 'new 3');
});

test('a batch leaves out the members it may not write: a collection of that name, or a file present for If-None-Match: *', async () => {
  const parent = await folder('batch-skip');
  assert.equal((await server.request('MKCOL', home + 'batch-skip/sub')).status, 201);
  assert.equal((await server.request('PUT', home + 'batch-skip/kept.txt', { body: 'kept' })).status, 201);
  const any = await db().pipelined((tx) => writeFileBatch(tx, parent.at, 'any', [file('sub', 'not a folder'), file('a.txt', 'a')]));
  assert.deepEqual([...any.keys()], ['a.txt']);
  const absent = await db().pipelined((tx) => writeFileBatch(tx, parent.at, 'absent', [file('kept.txt', 'replaced?'), file('b.txt', 'b')]));
  assert.deepEqual([...absent.keys()], ['b.txt']);
  assert.equal(await (await server.request('GET', home + 'batch-skip/kept.txt')).text(), 'kept');
  assert.equal((await server.request('PROPFIND', home + 'batch-skip/sub', { headers: { Depth: '0' } })).status, 207);
});

test('writes posted in one turn of the event loop go as one batch, a name twice in the next, in order', async () => {
  const parent = await folder('batch-queue');
  const { db: countingDb, sent } = countingPipelined(db());
  const batcher = new WriteBatcher(countingDb, fileWrites);
  const names = Array.from({ length: 20 }, (_, i) => `q${i}.txt`);
  const results = await Promise.all([...names.map((n) => batcher.write(parent.at, file(n, `first ${n}`))), batcher.write(parent.at, file('q5.txt', 'second q5.txt'))]);
  for (const r of results) assert.ok(r);
  // The 20 names in one batch, then the second q5.txt in the next (a batch sent at the first
  // write, as before, held that write alone).
  assert.equal(sent(), 2);
  assert.equal(await (await server.request('GET', home + 'batch-queue/q5.txt')).text(), 'second q5.txt');
  assert.equal(await syncToken(parent), 21);
  assert.equal((await changes(parent)).length, 20);
});

test('writes that arrive while two batches are out wait and go together as the next one', async () => {
  const parent = await folder('batch-wait');
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  // Transactions held back until `open`: the batches stay out.
  const held: Database = Object.create(db(), {
    pipelined: { value: (work: Parameters<Database['pipelined']>[0], options?: Parameters<Database['pipelined']>[1]) => opened.then(() => db().pipelined(work, options)) },
  }) as Database;
  const { db: countingDb, sent } = countingPipelined(held);
  const batcher = new WriteBatcher(countingDb, fileWrites);
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const written = [batcher.write(parent.at, file('w0.txt', 'w0'))];
  await turn();
  written.push(batcher.write(parent.at, file('w1.txt', 'w1')));
  await turn();
  for (let i = 2; i < 12; i++) {
    written.push(batcher.write(parent.at, file(`w${i}.txt`, `w${i}`)));
    await turn();
  }
  assert.equal(sent(), 2);
  open();
  for (const w of await Promise.all(written)) assert.ok(w);
  assert.equal(sent(), 3);
  assert.equal(await syncToken(parent), 12);
});

test('a batch that fails as a whole writes none of its files: each PUT writes its own alone, those within the quota land, the others get 507', async () => {
  const parent = await folder('batch-quota');
  const used = (await db().query<{ used_bytes: number }>('SELECT used_bytes FROM users WHERE id = $1', [userId()]))[0]!.used_bytes;
  // Room for three of the ten 100-byte files that wait together.
  await db().query('UPDATE users SET quota_bytes = $2 WHERE id = $1', [userId(), Number(used) + 350]);
  try {
    const batcher = new WriteBatcher(db(), fileWrites);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => batcher.write(parent.at, file(`q${i}.bin`, String(i).padEnd(100, '.')))));
    for (const o of outcomes) assert.deepEqual(o, { status: 'fulfilled', value: undefined });
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => server.request('PUT', `${home}batch-quota/p${i}.bin`, { body: String(i).padEnd(100, '.') })));
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 201, 201, 507, 507, 507, 507, 507]);
    const listed = await db().query<{ name: string }>('SELECT name FROM nodes WHERE user_id = $1 AND parent_id = $2 ORDER BY name', [userId(), parent.rows.id]);
    assert.equal(listed.length, 3);
  } finally {
    await db().query('UPDATE users SET quota_bytes = NULL WHERE id = $1', [userId()]);
  }
});

test('a PUT its folder\'s batch does not write is looked up and answered as any other', async () => {
  const parent = await folder('by-path');
  assert.equal((await server.request('MKCOL', home + 'by-path/sub')).status, 201);
  assert.equal((await server.request('PUT', home + 'by-path/file.txt', { body: 'first' })).status, 201);
  const tokenBefore = await syncToken(parent);
  // No such folder; a file where a folder should be; a folder where the file should be.
  assert.equal((await server.request('PUT', home + 'by-path/missing/a.txt', { body: 'a' })).status, 409);
  assert.equal((await server.request('PUT', home + 'by-path/file.txt/a.txt', { body: 'a' })).status, 409);
  assert.equal((await server.request('PUT', home + 'by-path/sub', { body: 'a' })).status, 405);
  // If-None-Match: * on a file that is there: 412, the file unchanged.
  assert.equal((await server.request('PUT', home + 'by-path/file.txt', { body: 'second', headers: { 'If-None-Match': '*' } })).status, 412);
  assert.equal(await (await server.request('GET', home + 'by-path/file.txt')).text(), 'first');
  assert.equal((await server.request('PUT', home + 'by-path/file.txt', { body: 'second' })).status, 204);
  assert.equal(await (await server.request('GET', home + 'by-path/file.txt')).text(), 'second');
  // What was refused left no change in the log; the replacement one.
  assert.deepEqual((await changes(parent)).map((c) => c.name).sort(), ['file.txt', 'sub']);
  assert.ok((await syncToken(parent)) > tokenBefore);

  // A folder moved: its old path is gone for the next PUT, its new one takes it.
  assert.equal((await server.request('MOVE', home + 'by-path/sub', { headers: { Destination: home + 'by-path/moved' } })).status, 201);
  assert.equal((await server.request('PUT', home + 'by-path/sub/x.txt', { body: 'x' })).status, 409);
  assert.equal((await server.request('PUT', home + 'by-path/moved/x.txt', { body: 'x' })).status, 201);

  // Deeper than the chained walks go (the recursive one).
  let deep = home + 'by-path/';
  for (let i = 0; i < 18; i++) {
    deep += `d${i}/`;
    assert.equal((await server.request('MKCOL', deep)).status, 201);
  }
  assert.equal((await server.request('PUT', deep + 'deep.txt', { body: 'deep' })).status, 201);
  assert.equal(await (await server.request('GET', deep + 'deep.txt')).text(), 'deep');
});

test('eight clients putting files into one folder at once: every file lands whole, one entry each in sync', async () => {
  await folder('batch-http');
  const names = Array.from({ length: 60 }, (_, i) => `h${i}.txt`);
  // Eight at a time: the server admits that many uploads per user at once (MAX_UPLOADS_PER_USER).
  const answers: Response[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = next++; i < names.length; i = next++) answers[i] = await server.request('PUT', home + 'batch-http/' + names[i], { body: `content of ${names[i]}`.padEnd(4096, '-') });
  }));
  for (const a of answers) assert.equal(a.status, 201);
  for (const [i, a] of answers.entries()) {
    assert.equal(a.headers.get('etag'), fileEtag(createHash('sha256').update(`content of ${names[i]}`.padEnd(4096, '-')).digest('hex')));
  }
  const { node } = await resolvePath(db(), userId(), ['files', 'batch-http']);
  assert.equal(node!.syncToken, names.length);
  const logged = await changes({ rows: { userId: userId(), id: node!.id } });
  assert.deepEqual(logged.map((c) => c.name).sort(), [...names].sort());
  assert.equal(new Set(logged.map((c) => c.token)).size, names.length);
  for (const n of names.slice(0, 5)) assert.equal(await (await server.request('GET', home + 'batch-http/' + n)).text(), `content of ${n}`.padEnd(4096, '-'));
});
