import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { listMigrations, migrate } from '../src/store/migrate.js';
import { openDatabase } from '../src/store/open.js';
import { deleteNode, resolvePath, writeMember, type ExpectedMember } from '../src/store/nodes.js';
import { createTestLocation, testDatabaseUrl } from './helpers/store.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => (server = await startTestServer()));
after(() => server.close());

const home = '/dav/files/alice/';
const db = () => server.store.db;
const userId = () => server.users[0]!.user.id;

async function collection(segments: string[]) {
  const { node } = await resolvePath(db(), userId(), ['files', ...segments]);
  assert.ok(node);
  return node;
}

async function changes(collectionId: number) {
  return db().query<{ token: number; name: string; deleted: boolean }>(
    'SELECT token, name, deleted FROM changes WHERE user_id = $1 AND collection_id = $2 ORDER BY token',
    [userId(), collectionId],
  );
}

test('every member change moves the collection sync token on and logs (name, kind, token), each name under its latest change', async () => {
  await server.request('MKCOL', home + 'synced');
  const start = await collection(['synced']);
  assert.equal(start.syncToken, 0);
  await server.request('PUT', home + 'synced/a.txt', { body: 'a' });
  await server.request('PUT', home + 'synced/a.txt', { body: 'a2' });
  await server.request('MOVE', home + 'synced/a.txt', { headers: { Destination: home + 'synced/b.txt' } });
  await server.request('DELETE', home + 'synced/b.txt');
  const after = await collection(['synced']);
  assert.equal(after.syncToken, 5);
  assert.notEqual(after.etag, start.etag, 'a collection ETag follows its token');
  assert.deepEqual(
    (await changes(after.id)).map((c) => [c.token, c.name, c.deleted]),
    [[3, 'a.txt', true], [5, 'b.txt', true]],
  );
});

test('migration 9 leaves a log written before it with each name under its latest change', async () => {
  await server.request('MKCOL', home + 'old-log');
  const dir = await collection(['old-log']);
  // Rows as stores before it kept them: one per change.
  for (const [token, name, deleted] of [[1, 'a', false], [2, 'a', false], [3, 'b', false], [4, 'a', true], [5, 'b', false], [6, 'c', false]] as const) {
    await db().query('INSERT INTO changes (user_id, collection_id, token, name, deleted) VALUES ($1, $2, $3, $4, $5)', [userId(), dir.id, token, name, deleted]);
  }
  await db().query(listMigrations().find((m) => m.version === 9)!.sql);
  assert.deepEqual(
    (await changes(dir.id)).map((c) => [c.token, c.name, c.deleted]),
    [[4, 'a', true], [5, 'b', false], [6, 'c', false]],
  );
});

test('a failed write leaves the token and the log as they were', async () => {
  await server.request('MKCOL', home + 'atomic');
  await server.request('PUT', home + 'atomic/x.txt', { body: 'x' });
  const before = await collection(['atomic']);
  assert.equal((await server.request('PUT', home + 'atomic/x.txt', { body: 'y', headers: { 'If-Match': '"stale"' } })).status, 412);
  const after = await collection(['atomic']);
  assert.equal(after.syncToken, before.syncToken);
  assert.equal((await changes(after.id)).length, 1);
});

/** A text member's content, its ETag the text itself. */
const content = (text: string) => ({ blobSha256: null, size: text.length, contentType: 'text/plain', etag: `"${text}"` });

test('writeMember writes only as expected: If-None-Match: * on a taken name and a stale If-Match write nothing and leave the token', async () => {
  await server.request('MKCOL', home + 'expected');
  const folder = await collection(['expected']);
  const write = (name: string, text: string, expected: ExpectedMember) => db().pipelined((tx) => writeMember(tx, folder, name, 'file', content(text), expected));
  const created = await write('a', 'v1', 'absent');
  assert.equal(created?.created, true);
  assert.equal(await write('a', 'v2', 'absent'), undefined);
  assert.equal(await write('a', 'v2', { etag: '"v0"' }), undefined);
  assert.equal(await write('b', 'v2', { etag: '"v1"' }), undefined);
  assert.equal((await collection(['expected'])).syncToken, 1, 'the refused writes did not move the token');
  const replaced = await write('a', 'v2', { etag: '"v1"' });
  assert.equal(replaced?.created, false);
  assert.equal(replaced?.node.etag, '"v2"');
  assert.deepEqual((await changes(folder.id)).map((c) => [c.token, c.name]), [[2, 'a']]);
});

test('a writer expecting an ETag that another writer replaced while it waited for the collection writes nothing', async () => {
  await server.request('MKCOL', home + 'contended');
  const folder = await collection(['contended']);
  assert.ok(await db().pipelined((tx) => writeMember(tx, folder, 'x', 'file', content('v1'), 'any')));
  // The first writer holds the collection's row until its commit; the second, sent meanwhile,
  // waits for it (PostgreSQL) or runs after it (PGlite): either way it must see "v2", not "v1".
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let first!: () => void;
  const started = new Promise<void>((resolve) => (first = resolve));
  const a = db().transaction(async (tx) => {
    const written = await writeMember(tx, folder, 'x', 'file', content('v2'), { etag: '"v1"' });
    first();
    await held;
    return written;
  });
  await started;
  const b = db().pipelined((tx) => writeMember(tx, folder, 'x', 'file', content('v3'), { etag: '"v1"' }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  assert.equal((await a)?.node.etag, '"v2"');
  assert.equal(await b, undefined);
  const [row] = await db().query<{ etag: string }>('SELECT etag FROM nodes WHERE user_id = $1 AND parent_id = $2 AND name = $3', [userId(), folder.id, 'x']);
  assert.equal(row?.etag, '"v2"');
});

test('COPY shares the blob of a file: no bytes are copied', async () => {
  // Past SMALL_BODY_BYTES, so that the body is a file of the blob store.
  const body = 'shared content ' + 'z'.repeat(70_000);
  await server.request('PUT', home + 'original.bin', { body });
  const blobFiles = () => {
    const root = path.join(server.store.dataDir, 'blobs', String(userId()));
    return fs.readdirSync(root, { recursive: true }).filter((f) => fs.statSync(path.join(root, String(f))).isFile()).length;
  };
  const before = blobFiles();
  assert.equal((await server.request('COPY', home + 'original.bin', { headers: { Destination: home + 'copy.bin' } })).status, 201);
  assert.equal(blobFiles(), before);
  const [original, copy] = [await collection(['original.bin']), await collection(['copy.bin'])];
  assert.equal(copy.blobSha256, original.blobSha256);
  // Deleting one copy keeps the shared blob for the other.
  await server.request('DELETE', home + 'original.bin');
  assert.equal(await (await server.request('GET', home + 'copy.bin')).text(), body);
});

test('MOVE of a large folder changes one row: every member keeps its id', async () => {
  await server.request('MKCOL', home + 'big');
  for (let i = 0; i < 50; i++) assert.equal((await server.request('PUT', home + `big/f${i}.txt`, { body: String(i) })).status, 201);
  const ids = (await db().query<{ id: number }>('SELECT id FROM nodes WHERE user_id = $1 AND parent_id = $2 ORDER BY id', [userId(), (await collection(['big'])).id])).map((r) => r.id);
  assert.equal((await server.request('MOVE', home + 'big/', { headers: { Destination: home + 'renamed/' } })).status, 201);
  const moved = await collection(['renamed']);
  const after = (await db().query<{ id: number }>('SELECT id FROM nodes WHERE user_id = $1 AND parent_id = $2 ORDER BY id', [userId(), moved.id])).map((r) => r.id);
  assert.equal(ids.length, 50);
  assert.deepEqual(after, ids);
});

test('DELETE of a large folder counts its usage in one call of the usage trigger, not one per member', async () => {
  await server.request('MKCOL', home + 'doomed');
  for (let i = 0; i < 50; i++) assert.equal((await server.request('PUT', home + `doomed/f${i}.txt`, { body: 'x'.repeat(i + 1) })).status, 201);
  const folder = await collection(['doomed']);
  const used = async () => Number((await db().query<{ used_bytes: string }>('SELECT used_bytes FROM users WHERE id = $1', [userId()]))[0]!.used_bytes);
  const before = await used();
  const calls = await db().transaction(async (tx) => {
    // Counts this transaction's calls of PL/pgSQL functions: the usage triggers' among them.
    await tx.query("SET LOCAL track_functions = 'pl'");
    await deleteNode(tx, folder);
    const rows = await tx.query<{ name: string; calls: string }>('SELECT funcname AS name, calls FROM pg_stat_xact_user_functions');
    return Object.fromEntries(rows.map((r) => [r.name, Number(r.calls)]));
  });
  // One statement trigger's call for the folder and its 50 members (a row trigger: one each).
  assert.deepEqual(calls, { nodes_count_deleted: 1 });
  assert.equal(await used(), before - (50 * 51) / 2);
});

test('two instances migrating one fresh database at once apply each migration once', { skip: testDatabaseUrl ? false : 'PostgreSQL only (PGlite is one process)' }, async () => {
  const location = await createTestLocation();
  try {
    const [a, b] = [await openDatabase(location), await openDatabase(location)];
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    assert.deepEqual([...ra, ...rb].sort((x, y) => x - y), listMigrations().map((m) => m.version));
    const rows = await a.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(rows.map((r) => r.version), listMigrations().map((m) => m.version));
    await a.close();
    await b.close();
  } finally {
    await location.remove();
  }
});

test('resolvePath finds the node and its parent at every depth, by the chained walk up to 16 segments and the recursive one beyond', async () => {
  const names = Array.from({ length: 20 }, (_, i) => `level${i + 1}`);
  for (let depth = 1; depth <= names.length; depth++) assert.equal((await server.request('MKCOL', home + names.slice(0, depth).join('/') + '/')).status, 201);
  await server.request('PUT', home + names.join('/') + '/leaf.txt', { body: 'leaf' });
  // The expected answer, from the rows themselves.
  const rows = await db().query<{ id: number; parent_id: number | null; name: string }>('SELECT id, parent_id, name FROM nodes WHERE user_id = $1', [userId()]);
  const find = (segments: string[]) => {
    let at: { id: number } | undefined;
    for (const [i, name] of segments.entries()) {
      at = rows.find((r) => r.name === name && (i === 0 ? r.parent_id === null : r.parent_id === at?.id));
      if (!at) return undefined;
    }
    return at?.id;
  };
  const paths = [
    ...Array.from({ length: names.length + 1 }, (_, depth) => ['files', ...names.slice(0, depth)]),
    ['files', ...names, 'leaf.txt'],
    ['files', ...names.slice(0, 15), 'missing'],
    ['files', ...names.slice(0, 15), 'missing', 'below'],
    ['files', ...names, 'missing', 'below'],
    ['nowhere'],
    ['nowhere', 'below'],
  ];
  for (const segments of paths) {
    const { node, parent } = await resolvePath(db(), userId(), segments);
    const label = `${segments.length} segments ending in ${segments.at(-1)}`;
    assert.equal(node?.id, find(segments), label);
    assert.equal(parent?.id, find(segments.slice(0, -1)), label);
    if (node) assert.equal(node.name, segments.at(-1), label);
  }
});
