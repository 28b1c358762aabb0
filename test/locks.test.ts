import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/config.js';
import { MAX_TIMEOUT_SECONDS, parseTimeout } from '../src/dav/locks/methods.js';
import { createLogger } from '../src/log.js';
import { startServer, type RunningServer } from '../src/server.js';
import { FileBlobStore } from '../src/store/blobs.js';
import type { Database } from '../src/store/db.js';
import { createLock, deleteLocksUnder, listActiveLocks } from '../src/store/locks.js';
import { migrate } from '../src/store/migrate.js';
import { openDatabase } from '../src/store/open.js';
import { createUser } from '../src/store/users.js';

let dataDir: string;
let db: Database;
let server: RunningServer;
let aliceId: number;
const HOME = '/dav/files/alice/';
const AUTH = { alice: basic('alice', 'secret-pass-1'), bob: basic('bob', 'secret-pass-2') };

function basic(name: string, password: string): string {
  return 'Basic ' + Buffer.from(`${name}:${password}`).toString('base64');
}

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dv-locks-'));
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' });
  db = await openDatabase(config);
  await migrate(db);
  aliceId = (await createUser(db, { name: 'alice', password: 'secret-pass-1' })).id;
  await createUser(db, { name: 'bob', password: 'secret-pass-2' });
  server = await startServer({ config, db, blobs: new FileBlobStore(path.join(dataDir, 'blobs')), log: createLogger('silent') });
});

after(async () => {
  await server.close();
  await db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

async function dav(method: string, p: string, headers: Record<string, string> = {}, body?: string, as: keyof typeof AUTH = 'alice'): Promise<Answer> {
  const res = await fetch(server.url + p, { method, headers: { Authorization: AUTH[as], ...headers }, body });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

function lockinfo(scope: 'exclusive' | 'shared', owner = '<D:owner><D:href>mailto:alice@example.org</D:href></D:owner>'): string {
  return `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype>${owner}</D:lockinfo>`;
}

/** Takes a lock and returns its token (without angle brackets). */
async function takeLock(p: string, scope: 'exclusive' | 'shared' = 'exclusive', headers: Record<string, string> = {}): Promise<string> {
  const res = await dav('LOCK', p, { 'Content-Type': 'application/xml', ...headers }, lockinfo(scope));
  assert.ok(res.status === 200 || res.status === 201, `LOCK ${p}: ${res.status} ${res.body}`);
  return /^<(.+)>$/.exec(res.headers.get('Lock-Token') ?? '')![1]!;
}

async function put(p: string, content: string, headers: Record<string, string> = {}): Promise<Answer> {
  return dav('PUT', p, headers, content);
}

async function etagOf(p: string): Promise<string> {
  const res = await dav('GET', p);
  assert.equal(res.status, 200);
  return res.headers.get('ETag')!;
}

function hrefsIn(xml: string, element: string): string[] {
  const inner = new RegExp(`<D:${element}>(.*?)</D:${element}>`, 's').exec(xml)?.[1] ?? '';
  return [...inner.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!);
}

describe('LOCK and UNLOCK', () => {
  test('an exclusive lock answers with its token and lockdiscovery (RFC 4918 §9.10.1)', async () => {
    await put(`${HOME}a.txt`, 'a');
    const res = await dav('LOCK', `${HOME}a.txt`, { Timeout: 'Second-120', Depth: '0' }, lockinfo('exclusive'));
    assert.equal(res.status, 200);
    const token = /^<(urn:uuid:[0-9a-f-]{36})>$/.exec(res.headers.get('Lock-Token') ?? '')?.[1];
    assert.ok(token, 'Lock-Token is a urn:uuid Coded-URL');
    assert.equal(res.headers.get('Timeout'), 'Second-120');
    assert.match(res.body, /<D:prop xmlns:D="DAV:"><D:lockdiscovery><D:activelock>/);
    assert.match(res.body, /<D:lockscope><D:exclusive\/><\/D:lockscope>/);
    assert.match(res.body, /<D:depth>0<\/D:depth>/);
    assert.match(res.body, /<D:timeout>Second-120<\/D:timeout>/);
    assert.match(res.body, /<owner xmlns="DAV:"><href>mailto:alice@example.org<\/href><\/owner>/);
    assert.deepEqual(hrefsIn(res.body, 'locktoken'), [token]);
    assert.deepEqual(hrefsIn(res.body, 'lockroot'), [`${HOME}a.txt`]);

    const unlocked = await dav('UNLOCK', `${HOME}a.txt`, { 'Lock-Token': `<${token}>` });
    assert.equal(unlocked.status, 204);
    assert.equal((await put(`${HOME}a.txt`, 'free')).status, 204);
  });

  test('lockdiscovery and supportedlock are in allprop and follow the lock', async () => {
    await put(`${HOME}b.txt`, 'b');
    const before = await dav('PROPFIND', `${HOME}b.txt`, { Depth: '0' });
    assert.match(before.body, /<D:lockdiscovery\/>/);
    assert.match(before.body, /<D:supportedlock><D:lockentry><D:lockscope><D:exclusive\/><\/D:lockscope><D:locktype><D:write\/><\/D:locktype><\/D:lockentry><D:lockentry><D:lockscope><D:shared\/>/);
    const token = await takeLock(`${HOME}b.txt`);
    const during = await dav('PROPFIND', `${HOME}b.txt`, { Depth: '0' }, '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>');
    assert.deepEqual(hrefsIn(during.body, 'locktoken'), [token]);
    await dav('UNLOCK', `${HOME}b.txt`, { 'Lock-Token': `<${token}>` });
  });

  test('a write without the token is 423 lock-token-submitted naming the root; with it, it succeeds', async () => {
    await put(`${HOME}c.txt`, 'c');
    const token = await takeLock(`${HOME}c.txt`);
    const refused = await put(`${HOME}c.txt`, 'x');
    assert.equal(refused.status, 423);
    assert.deepEqual(hrefsIn(refused.body, 'lock-token-submitted'), [`${HOME}c.txt`]);
    for (const [method, headers] of [
      ['DELETE', {}],
      ['MOVE', { Destination: `${server.url}${HOME}c-moved.txt` }],
      ['PROPPATCH', { 'Content-Type': 'application/xml' }],
    ] as const) {
      const body = method === 'PROPPATCH' ? '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:t">1</x></D:prop></D:set></D:propertyupdate>' : undefined;
      assert.equal((await dav(method, `${HOME}c.txt`, headers, body)).status, 423, method);
    }
    assert.equal((await put(`${HOME}c.txt`, 'y', { If: `(<${token}>)` })).status, 204);
    assert.equal((await put(`${HOME}c.txt`, 'z', { If: `<${server.url}${HOME}c.txt> (<${token}>)` })).status, 204);
    // COPY leaves the source alone and the lock does not follow it (§7.6, litmus copy).
    assert.equal((await dav('COPY', `${HOME}c.txt`, { Destination: `${HOME}c-copy.txt` })).status, 201);
    assert.equal((await put(`${HOME}c-copy.txt`, 'free')).status, 204);
    assert.equal((await dav('UNLOCK', `${HOME}c.txt`, { 'Lock-Token': `<${token}>` })).status, 204);
  });

  test('an exclusive lock conflicts with any other; shared locks coexist (§6.2)', async () => {
    await put(`${HOME}d.txt`, 'd');
    const first = await takeLock(`${HOME}d.txt`, 'shared');
    const second = await takeLock(`${HOME}d.txt`, 'shared');
    assert.notEqual(first, second);
    const conflict = await dav('LOCK', `${HOME}d.txt`, {}, lockinfo('exclusive'));
    assert.equal(conflict.status, 423);
    assert.deepEqual(hrefsIn(conflict.body, 'no-conflicting-lock'), [`${HOME}d.txt`]);
    // Either shared token lets the holder write.
    assert.equal((await put(`${HOME}d.txt`, 'x', { If: `(<${second}>)` })).status, 204);
    assert.equal((await put(`${HOME}d.txt`, 'x')).status, 423);
    const discovery = await dav('PROPFIND', `${HOME}d.txt`, { Depth: '0' });
    assert.equal([...discovery.body.matchAll(/<D:activelock>/g)].length, 2);
    await dav('UNLOCK', `${HOME}d.txt`, { 'Lock-Token': `<${first}>` });
    await dav('UNLOCK', `${HOME}d.txt`, { 'Lock-Token': `<${second}>` });
    const exclusive = await takeLock(`${HOME}d.txt`);
    assert.equal((await dav('LOCK', `${HOME}d.txt`, {}, lockinfo('shared'))).status, 423);
    await dav('UNLOCK', `${HOME}d.txt`, { 'Lock-Token': `<${exclusive}>` });
  });

  test('refresh: no body, If names the token; new timeout; 412 for a wrong token; 400 without If (§9.10.2)', async () => {
    await put(`${HOME}e.txt`, 'e');
    const token = await takeLock(`${HOME}e.txt`);
    const refreshed = await dav('LOCK', `${HOME}e.txt`, { If: `(<${token}>)`, Timeout: 'Second-300' });
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.headers.get('Lock-Token'), null);
    assert.match(refreshed.body, /<D:timeout>Second-300<\/D:timeout>/);
    assert.deepEqual(hrefsIn(refreshed.body, 'locktoken'), [token]);
    assert.equal((await dav('LOCK', `${HOME}e.txt`, { If: '(<urn:uuid:00000000-0000-0000-0000-000000000000>)' })).status, 412);
    assert.equal((await dav('LOCK', `${HOME}e.txt`)).status, 400);
    assert.equal((await dav('LOCK', `${HOME}e.txt`, { If: '(<urn:uuid:broken' })).status, 400);
    await dav('UNLOCK', `${HOME}e.txt`, { 'Lock-Token': `<${token}>` });
  });

  test('Depth 1 is 400; Infinite is capped; Timeout defaults to an hour', async () => {
    await put(`${HOME}f.txt`, 'f');
    assert.equal((await dav('LOCK', `${HOME}f.txt`, { Depth: '1' }, lockinfo('exclusive'))).status, 400);
    const res = await dav('LOCK', `${HOME}f.txt`, { Timeout: 'Infinite, Second-4100000000' }, lockinfo('exclusive'));
    assert.equal(res.headers.get('Timeout'), `Second-${MAX_TIMEOUT_SECONDS}`);
    assert.match(res.body, /<D:depth>infinity<\/D:depth>/);
    assert.equal(parseTimeout(''), 3600);
    assert.equal(parseTimeout('Second-0'), 1);
    assert.equal(parseTimeout('Fortnight, Second-60'), 60);
    assert.equal(parseTimeout('garbage'), 3600);
    const token = /^<(.+)>$/.exec(res.headers.get('Lock-Token')!)![1]!;
    await dav('UNLOCK', `${HOME}f.txt`, { 'Lock-Token': `<${token}>` });
  });

  test('malformed or unsupported lockinfo is refused', async () => {
    await put(`${HOME}g.txt`, 'g');
    assert.equal((await dav('LOCK', `${HOME}g.txt`, {}, '<D:propfind xmlns:D="DAV:"/>')).status, 400);
    assert.equal((await dav('LOCK', `${HOME}g.txt`, {}, '<D:lockinfo xmlns:D="DAV:"><D:locktype><D:write/></D:locktype></D:lockinfo>')).status, 400);
    assert.equal(
      (await dav('LOCK', `${HOME}g.txt`, {}, '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:read/></D:locktype></D:lockinfo>')).status,
      422,
    );
    assert.equal((await dav('LOCK', `${HOME}g.txt`, {}, '<D:lockinfo xmlns:D="DAV:">')).status, 400);
  });

  test('UNLOCK: 400 without Lock-Token, 409 lock-token-matches-request-uri for a foreign token (§9.11.1)', async () => {
    await put(`${HOME}h.txt`, 'h');
    await put(`${HOME}h2.txt`, 'h2');
    const token = await takeLock(`${HOME}h.txt`);
    assert.equal((await dav('UNLOCK', `${HOME}h.txt`)).status, 400);
    assert.equal((await dav('UNLOCK', `${HOME}h.txt`, { 'Lock-Token': 'not a token' })).status, 400);
    const bogus = await dav('UNLOCK', `${HOME}h.txt`, { 'Lock-Token': '<opaquelocktoken:foobar>' });
    assert.equal(bogus.status, 409);
    assert.match(bogus.body, /<D:lock-token-matches-request-uri\/>/);
    assert.equal((await dav('UNLOCK', `${HOME}h2.txt`, { 'Lock-Token': `<${token}>` })).status, 409);
    assert.equal((await dav('UNLOCK', `${HOME}h.txt`, { 'Lock-Token': `<${token}>` })).status, 204);
    assert.equal((await dav('UNLOCK', `${HOME}h.txt`, { 'Lock-Token': `<${token}>` })).status, 409);
  });

  test('UNLOCK accepts a bare token, as the webdav npm client sends it', async () => {
    const token = await takeLock(`${HOME}h.txt`);
    assert.equal((await dav('UNLOCK', `${HOME}h.txt`, { 'Lock-Token': token })).status, 204);
  });
});

describe('unmapped URLs (§7.3)', () => {
  test('LOCK creates an empty file and answers 201', async () => {
    const res = await dav('LOCK', `${HOME}new.txt`, {}, lockinfo('exclusive'));
    assert.equal(res.status, 201);
    const token = /^<(.+)>$/.exec(res.headers.get('Lock-Token')!)![1]!;
    const got = await dav('GET', `${HOME}new.txt`);
    assert.equal(got.status, 200);
    assert.equal(got.body, '');
    assert.equal((await put(`${HOME}new.txt`, 'x')).status, 423);
    assert.equal((await put(`${HOME}new.txt`, 'x', { If: `(<${token}>)` })).status, 204);
    await dav('UNLOCK', `${HOME}new.txt`, { 'Lock-Token': `<${token}>` });
  });

  test('LOCK below a missing collection is 409', async () => {
    assert.equal((await dav('LOCK', `${HOME}missing/new.txt`, {}, lockinfo('exclusive'))).status, 409);
  });
});

describe('collection locks', () => {
  test('a depth-infinity lock covers members, present and future (§7.4)', async () => {
    assert.equal((await dav('MKCOL', `${HOME}coll/`)).status, 201);
    await put(`${HOME}coll/old.txt`, 'o');
    const token = await takeLock(`${HOME}coll/`);
    assert.equal((await put(`${HOME}coll/new.txt`, 'n')).status, 423);
    assert.equal((await put(`${HOME}coll/old.txt`, 'n')).status, 423);
    assert.equal((await dav('MKCOL', `${HOME}coll/sub/`)).status, 423);
    assert.equal((await dav('DELETE', `${HOME}coll/old.txt`)).status, 423);
    // Tagged with the collection's URL, as neon does; and untagged, applying to the request URI.
    assert.equal((await put(`${HOME}coll/new.txt`, 'n', { If: `<${server.url}${HOME}coll/> (<${token}>)` })).status, 201);
    assert.equal((await put(`${HOME}coll/old.txt`, 'n', { If: `(<${token}>)` })).status, 204);
    // A member's lockdiscovery shows the collection's lock with its root.
    const discovery = await dav('PROPFIND', `${HOME}coll/old.txt`, { Depth: '0' });
    assert.deepEqual(hrefsIn(discovery.body, 'lockroot'), [`${HOME}coll/`]);
    // Indirect refresh through a member.
    assert.equal((await dav('LOCK', `${HOME}coll/old.txt`, { If: `(<${token}>)` })).status, 200);
    // A new lock on a member conflicts; so does a depth-infinity lock above a locked member.
    assert.equal((await dav('LOCK', `${HOME}coll/old.txt`, {}, lockinfo('shared'))).status, 423);
    assert.equal((await dav('UNLOCK', `${HOME}coll/old.txt`, { 'Lock-Token': `<${token}>` })).status, 204);
    const member = await takeLock(`${HOME}coll/old.txt`);
    const above = await dav('LOCK', `${HOME}coll/`, {}, lockinfo('exclusive'));
    assert.equal(above.status, 423);
    assert.deepEqual(hrefsIn(above.body, 'no-conflicting-lock'), [`${HOME}coll/old.txt`]);
    assert.equal((await dav('LOCK', `${HOME}coll/`, { Depth: '0' }, lockinfo('exclusive'))).status, 200);
    await dav('UNLOCK', `${HOME}coll/old.txt`, { 'Lock-Token': `<${member}>` });
  });

  test('a depth-0 lock on a collection protects its membership, not its members', async () => {
    await dav('MKCOL', `${HOME}zero/`);
    await put(`${HOME}zero/m.txt`, 'm');
    const token = await takeLock(`${HOME}zero/`, 'exclusive', { Depth: '0' });
    assert.equal((await put(`${HOME}zero/m.txt`, 'changed')).status, 204);
    assert.equal((await put(`${HOME}zero/n.txt`, 'n')).status, 423);
    assert.equal((await dav('DELETE', `${HOME}zero/m.txt`)).status, 423);
    assert.equal((await dav('DELETE', `${HOME}zero/m.txt`, { If: `</dav/files/alice/zero/> (<${token}>)` })).status, 204);
    await dav('UNLOCK', `${HOME}zero/`, { 'Lock-Token': `<${token}>` });
  });

  test('DELETE of a collection with a locked member is 207 naming it, and deletes nothing (§9.6.1)', async () => {
    await dav('MKCOL', `${HOME}tree/`);
    await dav('MKCOL', `${HOME}tree/sub/`);
    await put(`${HOME}tree/sub/locked.txt`, 'l');
    await put(`${HOME}tree/free.txt`, 'f');
    const token = await takeLock(`${HOME}tree/sub/locked.txt`);
    const res = await dav('DELETE', `${HOME}tree/`);
    assert.equal(res.status, 207);
    assert.match(res.body, /<D:response><D:href>\/dav\/files\/alice\/tree\/sub\/locked\.txt<\/D:href><D:status>HTTP\/1\.1 423 Locked<\/D:status><D:error><D:lock-token-submitted>/);
    assert.equal((await dav('GET', `${HOME}tree/free.txt`)).status, 200);
    // MOVE of the collection is refused outright.
    assert.equal((await dav('MOVE', `${HOME}tree/`, { Destination: `${HOME}tree2/` })).status, 423);
    // An untagged list applies to the Request-URI only (§10.4.2), which this lock does not cover.
    assert.equal((await dav('DELETE', `${HOME}tree/`, { If: `(<${token}>)` })).status, 412);
    // Tagged with the member, the whole tree goes, and so does the lock.
    assert.equal((await dav('DELETE', `${HOME}tree/`, { If: `<${HOME}tree/sub/locked.txt> (<${token}>)` })).status, 204);
    assert.equal((await listActiveLocks(db, aliceId)).some((l) => l.token === token), false);
    await dav('MKCOL', `${HOME}tree/`);
    await dav('MKCOL', `${HOME}tree/sub/`);
    assert.equal((await put(`${HOME}tree/sub/locked.txt`, 'again')).status, 201);
  });

  test('a DELETE of a member under a collection lock is a plain 423', async () => {
    await dav('MKCOL', `${HOME}held/`);
    await dav('MKCOL', `${HOME}held/sub/`);
    const token = await takeLock(`${HOME}held/`);
    const res = await dav('DELETE', `${HOME}held/sub/`);
    assert.equal(res.status, 423);
    assert.deepEqual(hrefsIn(res.body, 'lock-token-submitted'), [`${HOME}held/`]);
    await dav('UNLOCK', `${HOME}held/`, { 'Lock-Token': `<${token}>` });
  });
});

describe('the If header (§10.4)', () => {
  test('entity tags: matching proceeds, mismatching is 412, also on reads', async () => {
    await put(`${HOME}i.txt`, 'i');
    const etag = await etagOf(`${HOME}i.txt`);
    assert.equal((await put(`${HOME}i.txt`, 'i2', { If: `([${etag}])` })).status, 204);
    assert.equal((await put(`${HOME}i.txt`, 'i3', { If: `([${etag}])` })).status, 412);
    assert.equal((await dav('GET', `${HOME}i.txt`, { If: '(["nope"])' })).status, 412);
    assert.equal((await dav('GET', `${HOME}i.txt`, { If: '(Not ["nope"])' })).status, 200);
    assert.equal((await dav('PROPFIND', `${HOME}i.txt`, { Depth: '0', If: '(<DAV:no-lock>)' })).status, 412);
  });

  test("litmus's conditional PUTs with a lock", async () => {
    await put(`${HOME}j.txt`, 'j');
    const token = await takeLock(`${HOME}j.txt`);
    const etag = await etagOf(`${HOME}j.txt`);
    assert.equal((await put(`${HOME}j.txt`, 'zero', { If: `(<${token}> [${etag}])` })).status, 204);
    const now = await etagOf(`${HOME}j.txt`);
    assert.equal((await put(`${HOME}j.txt`, 'zero', { If: `(<DAV:no-lock> [${now}])` })).status, 412);
    assert.equal((await put(`${HOME}j.txt`, 'zero', { If: `(<${token}>) (Not <DAV:no-lock>)` })).status, 204);
    // True header, but the lock's token is not in it.
    assert.equal((await put(`${HOME}j.txt`, 'zero', { If: `(<${token}x>) (Not <DAV:no-lock>)` })).status, 423);
    assert.equal((await put(`${HOME}j.txt`, 'zero', { If: `(<${token}> [${now}]) (Not <DAV:no-lock> [${now}])` })).status, 204);
    assert.equal((await put(`${HOME}j.txt`, 'zero', { If: `(<${token}> ["bogus"]) (Not <DAV:no-lock> ["bogus"])` })).status, 412);
    await dav('UNLOCK', `${HOME}j.txt`, { 'Lock-Token': `<${token}>` });
    assert.equal((await put(`${HOME}j.txt`, 'zero', { If: `(<${token}>)` })).status, 412);
  });

  test('tagged lists: another resource, another host, another user', async () => {
    await put(`${HOME}k.txt`, 'k');
    await put(`${HOME}l.txt`, 'l');
    const etag = await etagOf(`${HOME}l.txt`);
    assert.equal((await put(`${HOME}k.txt`, 'x', { If: `<${HOME}l.txt> ([${etag}])` })).status, 204);
    assert.equal((await put(`${HOME}k.txt`, 'x', { If: `<http://elsewhere.example${HOME}l.txt> ([${etag}])` })).status, 412);
    assert.equal((await put(`${HOME}k.txt`, 'x', { If: '</dav/files/bob/> (Not <DAV:no-lock>)' })).status, 412);
    assert.equal((await put(`${HOME}k.txt`, 'x', { If: '</dav/files/alice/%2F/> (Not <DAV:no-lock>)' })).status, 412);
    assert.equal((await put(`${HOME}k.txt`, 'x', { If: `</dav/files/alice/nothing-here> (Not [${etag}])` })).status, 204);
  });

  test('a malformed If header is 400', async () => {
    for (const bad of ['garbage', '(<urn:uuid:x>', '()', '(["unquoted])', '<a> (<DAV:no-lock>) (["x"]) extra']) {
      assert.equal((await dav('GET', `${HOME}k.txt`, { If: bad })).status, 400, bad);
    }
  });

  test("a token does not unlock another user's resources, and bob cannot see alice's locks", async () => {
    const token = await takeLock(`${HOME}k.txt`);
    assert.equal((await dav('UNLOCK', `${HOME}k.txt`, { 'Lock-Token': `<${token}>` }, undefined, 'bob')).status, 404);
    assert.equal((await dav('PUT', '/dav/files/bob/x.txt', { If: `(<${token}>)` }, 'x', 'bob')).status, 412);
    await dav('UNLOCK', `${HOME}k.txt`, { 'Lock-Token': `<${token}>` });
  });
});

describe('the locks repository', () => {
  test('expired locks are ignored and purged', async () => {
    await put(`${HOME}exp.txt`, 'e');
    const token = await takeLock(`${HOME}exp.txt`);
    await db.query(`UPDATE locks SET expires_at = now() - interval '1 second' WHERE token = $1`, [token]);
    assert.equal((await put(`${HOME}exp.txt`, 'free')).status, 204);
    assert.equal((await dav('UNLOCK', `${HOME}exp.txt`, { 'Lock-Token': `<${token}>` })).status, 409);
    await takeLock(`${HOME}exp.txt`).then((t) => dav('UNLOCK', `${HOME}exp.txt`, { 'Lock-Token': `<${t}>` }));
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM locks WHERE token = $1', [token]);
    assert.equal(rows[0]!.n, 0);
  });

  test('deleteLocksUnder removes the root and below, not siblings sharing a prefix', async () => {
    const roots = ['files/r', 'files/r/a', 'files/r/a/b', 'files/r a', 'files/r%', 'files/r0', 'files/r-', 'files/ra', 'files/r_/x', 'files'];
    await db.transaction(async (tx) => {
      for (const [i, root] of roots.entries()) {
        await createLock(tx, aliceId, { token: `urn:test:${i}`, root, rootIsCollection: true, depthInfinity: false, exclusive: false, ownerXml: null, timeoutSeconds: 60 });
      }
      await deleteLocksUnder(tx, aliceId, 'files/r');
    });
    const left = (await listActiveLocks(db, aliceId)).filter((l) => l.token.startsWith('urn:test:')).map((l) => l.root);
    assert.deepEqual(left.sort(), ['files', 'files/r a', 'files/r%', 'files/r-', 'files/r0', 'files/r_/x', 'files/ra'].sort());
    await db.query(`DELETE FROM locks WHERE token LIKE 'urn:test:%'`);
  });
});
