import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setQuota } from '../src/store/users.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const home = '/dav/files/alice/';

before(async () => {
  server = await startTestServer({ users: ['alice', 'bob'], env: { MAX_UPLOAD_BYTES: String(4 * 1024 * 1024) } });
});
after(() => server.close());

const req = (method: string, p: string, options?: Parameters<TestServer['request']>[2]) => server.request(method, p, options);

/** A raw request, for paths that fetch() would normalise. */
function rawRequest(method: string, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const r = http.request({ host: url.hostname, port: url.port, method, path: rawPath, headers: { Authorization: server.users[0]!.authorization, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

function hrefs(xml: string): string[] {
  return [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!);
}

describe('discovery and OPTIONS', () => {
  test('OPTIONS announces class 1, 2, 3, calendar-access, addressbook, extended-mkcol and the allowed methods', async () => {
    const res = await req('OPTIONS', home);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('dav'), '1, 2, 3, calendar-access, addressbook, extended-mkcol');
    assert.equal(res.headers.get('ms-author-via'), 'DAV');
    for (const m of ['PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'COPY', 'MOVE', 'DELETE', 'GET']) assert.ok(res.headers.get('allow')!.includes(m), m);
  });

  test('anonymous requests get 401 with a Basic challenge', async () => {
    const res = await req('PROPFIND', home, { as: null });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/);
  });

  test('the parents of a home answer PROPFIND and lead to the own home only', async () => {
    for (const p of ['/', '/dav/', '/dav/files/']) {
      const res = await req('PROPFIND', p, { headers: { Depth: '1' } });
      assert.equal(res.status, 207, p);
    }
    const list = await (await req('PROPFIND', '/dav/files/', { headers: { Depth: '1' } })).text();
    assert.deepEqual(hrefs(list), ['/dav/files/', '/dav/files/alice/']);
  });

  test("another user's tree is 404 whether or not it exists", async () => {
    const existing = await req('PROPFIND', '/dav/files/bob/', { headers: { Depth: '0' } });
    const missing = await req('PROPFIND', '/dav/files/nobody/', { headers: { Depth: '0' } });
    assert.equal(existing.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(await existing.text(), await missing.text());
    assert.equal((await req('PUT', '/dav/files/bob/x.txt', { body: 'x' })).status, 404);
  });
});

describe('files', () => {
  test('PUT creates (201) then replaces (204); GET and HEAD return it with a strong ETag', async () => {
    const created = await req('PUT', home + 'hello.txt', { body: 'hello world', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(created.status, 201);
    const etag1 = created.headers.get('etag');
    assert.match(etag1 ?? '', /^"[0-9a-f]+"$/);
    const got = await req('GET', home + 'hello.txt');
    assert.equal(await got.text(), 'hello world');
    assert.equal(got.headers.get('etag'), etag1);
    assert.equal(got.headers.get('content-type'), 'text/plain');
    const head = await req('HEAD', home + 'hello.txt');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '11');
    assert.equal(head.headers.get('etag'), etag1);
    const replaced = await req('PUT', home + 'hello.txt', { body: 'hello again' });
    assert.equal(replaced.status, 204);
    assert.notEqual(replaced.headers.get('etag'), etag1);
  });

  test('Content-Type comes from the stored type, else from the name', async () => {
    await req('PUT', home + 'page.html', { body: '<p>x</p>', headers: { 'Content-Type': 'application/octet-stream' } });
    assert.match((await req('GET', home + 'page.html')).headers.get('content-type') ?? '', /^text\/html/);
    await req('PUT', home + 'card.vcf', { body: 'BEGIN:VCARD\r\nEND:VCARD\r\n', headers: { 'Content-Type': 'application/octet-stream' } });
    assert.match((await req('GET', home + 'card.vcf')).headers.get('content-type') ?? '', /^text\/vcard/);
  });

  test('a stored HTML file is served sandboxed, so it cannot script the web pages on this origin', async () => {
    await req('PUT', home + 'page.html', { body: '<script>fetch("/api/account")</script>', headers: { 'Content-Type': 'text/html' } });
    const res = await req('GET', home + 'page.html');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), 'sandbox');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  test('PUT without a parent collection is 409; PUT on a collection is 405', async () => {
    assert.equal((await req('PUT', home + 'no/such/file.txt', { body: 'x' })).status, 409);
    await req('MKCOL', home + 'putcol');
    assert.equal((await req('PUT', home + 'putcol', { body: 'x' })).status, 405);
  });

  test('Range requests: a range, a suffix, an unsatisfiable range', async () => {
    await req('PUT', home + 'digits.txt', { body: '0123456789' });
    const mid = await req('GET', home + 'digits.txt', { headers: { Range: 'bytes=2-5' } });
    assert.equal(mid.status, 206);
    assert.equal(await mid.text(), '2345');
    assert.equal(mid.headers.get('content-range'), 'bytes 2-5/10');
    const tail = await req('GET', home + 'digits.txt', { headers: { Range: 'bytes=-3' } });
    assert.equal(await tail.text(), '789');
    const open = await req('GET', home + 'digits.txt', { headers: { Range: 'bytes=7-' } });
    assert.equal(await open.text(), '789');
    const bad = await req('GET', home + 'digits.txt', { headers: { Range: 'bytes=50-60' } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), 'bytes */10');
  });

  test('conditional requests: If-Match, If-None-Match, If-Unmodified-Since', async () => {
    const put = await req('PUT', home + 'cond.txt', { body: 'v1' });
    const etag = put.headers.get('etag')!;
    assert.equal((await req('PUT', home + 'cond.txt', { body: 'v2', headers: { 'If-Match': '"nope"' } })).status, 412);
    assert.equal(await (await req('GET', home + 'cond.txt')).text(), 'v1');
    assert.equal((await req('PUT', home + 'cond.txt', { body: 'v2', headers: { 'If-None-Match': '*' } })).status, 412);
    assert.equal((await req('GET', home + 'cond.txt', { headers: { 'If-None-Match': etag } })).status, 304);
    assert.equal((await req('PUT', home + 'cond.txt', { body: 'v2', headers: { 'If-Unmodified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' } })).status, 412);
    assert.equal((await req('PUT', home + 'cond.txt', { body: 'v2', headers: { 'If-Match': etag } })).status, 204);
    assert.equal((await req('PUT', home + 'cond-new.txt', { body: 'n', headers: { 'If-None-Match': '*' } })).status, 201);
    assert.equal((await req('PUT', home + 'cond-missing.txt', { body: 'n', headers: { 'If-Match': '*' } })).status, 412);
  });

  test('concurrent PUTs with the same If-Match: one wins, the others get 412 (bodies in rows and in files)', async () => {
    for (const [kind, repeat] of [['small', 1], ['large', 20_000]] as const) {
      const name = `race-${kind}.txt`;
      const etag = (await req('PUT', home + name, { body: 'base '.repeat(repeat) })).headers.get('etag')!;
      const bodies = Array.from({ length: 4 }, (_, i) => `from ${i} `.repeat(repeat));
      const answers = await Promise.all(bodies.map((body) => req('PUT', home + name, { body, headers: { 'If-Match': etag } })));
      assert.deepEqual(answers.map((a) => a.status).sort(), [204, 412, 412, 412], kind);
      const winner = bodies[answers.findIndex((a) => a.status === 204)];
      assert.equal(await (await req('GET', home + name)).text(), winner, kind);
    }
  });

  test('concurrent PUTs with If-None-Match: * of one new name: one 201, the others 412', async () => {
    for (const [kind, repeat] of [['small', 1], ['large', 20_000]] as const) {
      const name = `first-${kind}.txt`;
      const bodies = Array.from({ length: 4 }, (_, i) => `writer ${i} `.repeat(repeat));
      const answers = await Promise.all(bodies.map((body) => req('PUT', home + name, { body, headers: { 'If-None-Match': '*' } })));
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, 412, 412, 412], kind);
      const winner = bodies[answers.findIndex((a) => a.status === 201)];
      assert.equal(await (await req('GET', home + name)).text(), winner, kind);
    }
  });

  test('concurrent PUTs creating one name: one 201, the others 204; the bodies replaced are collected', async () => {
    const blobsDir = path.join(server.store.dataDir, 'blobs');
    const inFile = (sha: string) => fs.readdirSync(blobsDir).some((user) => fs.existsSync(path.join(blobsDir, user, sha.slice(0, 2), sha)));
    const rowOf = async (sha: string) => (await server.store.db.query<{ in_row: boolean }>('SELECT body IS NOT NULL AS in_row FROM blobs WHERE sha256 = $1', [sha]))[0];
    // Small bodies (kept in their rows), then bodies past SMALL_BODY_BYTES (files).
    for (const [kind, repeat] of [['small', 100], ['large', 8_000]] as const) {
      const name = `crowded-${kind}.txt`;
      const bodies = Array.from({ length: 8 }, (_, i) => `writer ${i} `.repeat(repeat * (i + 1)));
      const answers = await Promise.all(bodies.map((body) => req('PUT', home + name, { body })));
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, 204, 204, 204, 204, 204, 204, 204]);
      const stored = await (await req('GET', home + name)).text();
      assert.ok(bodies.includes(stored));
      // Only the body that was written last is kept, in its row or on disk.
      for (const [i, body] of bodies.entries()) {
        const sha = createHash('sha256').update(body).digest('hex');
        const row = await rowOf(sha);
        assert.equal(Boolean(row), body === stored, `${kind} body of writer ${i}: its row`);
        assert.equal(inFile(sha), kind === 'large' && body === stored, `${kind} body of writer ${i}: its file`);
        if (row) assert.equal(row.in_row, kind === 'small', `${kind} body of writer ${i}: kept in its row`);
      }
    }
  });

  test('a body over the upload limit is 413 and stores nothing', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 1);
    const res = await req('PUT', home + 'big.bin', { body: big });
    assert.equal(res.status, 413);
    assert.equal((await req('GET', home + 'big.bin')).status, 404);
  });

  test('an upload aborted halfway keeps the previous content and leaves no stray blob', async () => {
    await req('PUT', home + 'aborted.txt', { body: 'previous content' });
    const blobsDir = path.join(server.store.dataDir, 'blobs');
    const countFiles = (dir: string): number =>
      fs.readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1), 0);
    const before = countFiles(blobsDir);
    const url = new URL(server.url);
    await new Promise<void>((resolve) => {
      const r = http.request({
        host: url.hostname,
        port: url.port,
        method: 'PUT',
        path: home + 'aborted.txt',
        headers: { Authorization: server.users[0]!.authorization, 'Content-Length': String(1024 * 1024) },
      });
      r.on('error', () => resolve());
      r.write(Buffer.alloc(512 * 1024, 7), () => setTimeout(() => {
        r.destroy();
        resolve();
      }, 200));
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await (await req('GET', home + 'aborted.txt')).text(), 'previous content');
    assert.equal(countFiles(blobsDir), before);
    assert.deepEqual(fs.readdirSync(path.join(blobsDir, 'tmp')), []);
  });

  test('quota: a PUT past it is 507; quota properties report usage', async () => {
    const carol = await server.addUser('carol');
    await setQuota(server.store.db, carol.user.id, 100);
    const ok = await req('PUT', '/dav/files/carol/small.txt', { as: carol, body: 'x'.repeat(60) });
    assert.equal(ok.status, 201);
    const over = await req('PUT', '/dav/files/carol/more.txt', { as: carol, body: 'y'.repeat(60) });
    assert.equal(over.status, 507);
    // RFC 4331 §6: the precondition that failed, whether the store's trigger or the early check refused.
    assert.match(await over.text(), /<D:error xmlns:D="DAV:"><D:quota-not-exceeded\/>/);
    const early = await req('PUT', '/dav/files/carol/big.bin', { as: carol, body: Buffer.alloc(2 * 1024 * 1024) });
    assert.equal(early.status, 507);
    assert.match(await early.text(), /<D:quota-not-exceeded\/>/);
    const copy = await req('COPY', '/dav/files/carol/small.txt', { as: carol, headers: { Destination: '/dav/files/carol/copy.txt' } });
    assert.equal(copy.status, 507);
    assert.match(await copy.text(), /<D:quota-not-exceeded\/>/);
    assert.equal((await req('GET', '/dav/files/carol/copy.txt', { as: carol })).status, 404);
    const props = await (
      await req('PROPFIND', '/dav/files/carol/', {
        as: carol,
        headers: { Depth: '0' },
        body: '<propfind xmlns="DAV:"><prop><quota-used-bytes/><quota-available-bytes/></prop></propfind>',
      })
    ).text();
    assert.match(props, /<D:quota-used-bytes>60<\/D:quota-used-bytes>/);
    assert.match(props, /<D:quota-available-bytes>40<\/D:quota-available-bytes>/);
  });

  test('quota: usage follows writes, replacements and the DELETE of a folder tree', async () => {
    const dan = await server.addUser('dan');
    const used = async () => {
      const text = await (
        await req('PROPFIND', '/dav/files/dan/', { as: dan, headers: { Depth: '0' }, body: '<propfind xmlns="DAV:"><prop><quota-used-bytes/></prop></propfind>' })
      ).text();
      return Number(/<D:quota-used-bytes>(\d+)</.exec(text)?.[1]);
    };
    const put = async (path: string, size: number) => assert.ok((await req('PUT', `/dav/files/dan/${path}`, { as: dan, body: 'z'.repeat(size) })).ok, path);
    for (const dir of ['tree/', 'tree/a/', 'tree/a/b/']) assert.equal((await req('MKCOL', `/dav/files/dan/${dir}`, { as: dan })).status, 201);
    await put('keep.txt', 7);
    for (const [i, dir] of ['tree/', 'tree/a/', 'tree/a/b/'].entries()) for (let n = 1; n <= 5; n++) await put(`${dir}f${n}.txt`, 10 * (i + 1) + n);
    assert.equal(await used(), 7 + (11 + 12 + 13 + 14 + 15) + (21 + 22 + 23 + 24 + 25) + (31 + 32 + 33 + 34 + 35));
    await put('tree/a/f1.txt', 100); // 21 → 100
    await put('tree/a/f2.txt', 22); // the same size
    await put('tree/f1.txt', 1); // 11 → 1
    const before = 7 + (1 + 12 + 13 + 14 + 15) + (100 + 22 + 23 + 24 + 25) + (31 + 32 + 33 + 34 + 35);
    assert.equal(await used(), before);
    // One statement removes the folder and, by cascade, everything below it.
    assert.equal((await req('DELETE', '/dav/files/dan/tree/a/', { as: dan })).status, 204);
    assert.equal(await used(), 7 + (1 + 12 + 13 + 14 + 15));
    assert.equal((await req('DELETE', '/dav/files/dan/keep.txt', { as: dan })).status, 204);
    assert.equal(await used(), 1 + 12 + 13 + 14 + 15);
    // Room freed by a DELETE can be used again up to the quota, not past it.
    await setQuota(server.store.db, dan.user.id, 100);
    await put('fill.txt', 100 - (1 + 12 + 13 + 14 + 15));
    assert.equal((await req('PUT', '/dav/files/dan/tree/f1.txt', { as: dan, body: 'zz' })).status, 507);
    assert.equal(await used(), 100);
  });
});

describe('collections, names and properties', () => {
  test('MKCOL: 201, 405 when it exists, 409 without a parent, 415 with a body', async () => {
    assert.equal((await req('MKCOL', home + 'docs')).status, 201);
    assert.equal((await req('MKCOL', home + 'docs')).status, 405);
    assert.equal((await req('MKCOL', home + 'nope/deeper')).status, 409);
    assert.equal((await req('MKCOL', home + 'withbody', { body: '<x/>', headers: { 'Content-Type': 'application/xml' } })).status, 415);
  });

  test('Unicode, spaces and percent signs round-trip in names and hrefs', async () => {
    await req('MKCOL', home + encodeURIComponent('Ünïcode dir'));
    const name = 'naïve résumé 100% 日本.txt';
    const put = await req('PUT', home + encodeURIComponent('Ünïcode dir') + '/' + encodeURIComponent(name), { body: 'u' });
    assert.equal(put.status, 201);
    const list = await (await req('PROPFIND', home + encodeURIComponent('Ünïcode dir') + '/', { headers: { Depth: '1' } })).text();
    const member = hrefs(list).find((h) => h.endsWith('.txt'))!;
    assert.equal(decodeURIComponent(member.split('/').at(-1)!), name);
    assert.equal(await (await req('GET', member)).text(), 'u');
    // Names are case-sensitive.
    assert.equal((await req('GET', home + encodeURIComponent('ünïcode dir') + '/' + encodeURIComponent(name))).status, 404);
  });

  test('PROPFIND Depth 0, 1 and infinity; allprop and propname', async () => {
    await req('MKCOL', home + 'tree');
    await req('MKCOL', home + 'tree/sub');
    await req('PUT', home + 'tree/sub/leaf.txt', { body: 'leaf' });
    const d0 = await (await req('PROPFIND', home + 'tree/', { headers: { Depth: '0' } })).text();
    assert.deepEqual(hrefs(d0), [home + 'tree/']);
    assert.match(d0, /<D:resourcetype><D:collection\/><\/D:resourcetype>/);
    const d1 = await (await req('PROPFIND', home + 'tree', { headers: { Depth: '1' } })).text();
    assert.deepEqual(hrefs(d1), [home + 'tree/', home + 'tree/sub/']);
    const dinf = await (await req('PROPFIND', home + 'tree/', { headers: { Depth: 'infinity' } })).text();
    assert.deepEqual(hrefs(dinf), [home + 'tree/', home + 'tree/sub/', home + 'tree/sub/leaf.txt']);
    const leaf = await (await req('PROPFIND', home + 'tree/sub/leaf.txt', { headers: { Depth: '0' } })).text();
    for (const p of ['getcontentlength>4<', 'getetag>', 'getlastmodified>', 'creationdate>', 'displayname>leaf.txt<', 'resourcetype/>']) assert.ok(leaf.includes(p), p);
    const names = await (await req('PROPFIND', home + 'tree/sub/leaf.txt', { headers: { Depth: '0' }, body: '<propfind xmlns="DAV:"><propname/></propfind>' })).text();
    assert.match(names, /<D:getetag\/>/);
    const missing = await (await req('PROPFIND', home + 'tree/', { headers: { Depth: '0' }, body: '<propfind xmlns="DAV:"><prop><nothing xmlns="urn:x"/></prop></propfind>' })).text();
    assert.match(missing, /<nothing xmlns="urn:x"\/>.*404 Not Found/s);
  });

  test('PROPPATCH keeps dead properties verbatim, all-or-nothing with 207 per property', async () => {
    await req('PUT', home + 'props.txt', { body: 'p' });
    const set = await req('PROPPATCH', home + 'props.txt', {
      body: `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/z/"><D:set><D:prop><Z:author>Ann &amp; <Z:b x="1">Bo</Z:b>&#13;</Z:author><plain xmlns="">v</plain></D:prop></D:set></D:propertyupdate>`,
    });
    assert.equal(set.status, 207);
    assert.match(await set.text(), /200 OK/);
    const got = await (await req('PROPFIND', home + 'props.txt', { headers: { Depth: '0' }, body: '<propfind xmlns="DAV:"><prop><author xmlns="http://example.com/z/"/><plain xmlns=""/></prop></propfind>' })).text();
    assert.ok(got.includes('<author xmlns="http://example.com/z/">Ann &amp; <b x="1">Bo</b>&#13;</author>'), got);
    assert.ok(got.includes('<plain xmlns="">v</plain>'), got);

    const mixed = await req('PROPPATCH', home + 'props.txt', {
      body: `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>"x"</D:getetag><x:new xmlns:x="urn:x">1</x:new></D:prop></D:set><D:remove><D:prop><author xmlns="http://example.com/z/"/></D:prop></D:remove></D:propertyupdate>`,
    });
    const text = await mixed.text();
    assert.match(text, /<D:getetag\/><\/D:prop><D:status>HTTP\/1.1 403/);
    assert.match(text, /424 Failed Dependency/);
    const after = await (await req('PROPFIND', home + 'props.txt', { headers: { Depth: '0' } })).text();
    assert.ok(after.includes('Ann &amp;'), 'the removal was not applied');
    assert.ok(!after.includes('urn:x'), 'the set was not applied');
  });
});

describe('COPY, MOVE, DELETE', () => {
  test('COPY a tree shares content; MOVE renames; Overwrite F is 412; other hosts are 502', async () => {
    await req('MKCOL', home + 'src');
    await req('PUT', home + 'src/a.txt', { body: 'A' });
    await req('PROPPATCH', home + 'src/a.txt', { body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><k xmlns="urn:k">kept</k></D:prop></D:set></D:propertyupdate>' });
    const copied = await req('COPY', home + 'src/', { headers: { Destination: server.at(home + 'copy/') } });
    assert.equal(copied.status, 201);
    assert.equal(await (await req('GET', home + 'copy/a.txt')).text(), 'A');
    const props = await (await req('PROPFIND', home + 'copy/a.txt', { headers: { Depth: '0' } })).text();
    assert.match(props, /kept/);
    assert.equal((await req('COPY', home + 'src/', { headers: { Destination: home + 'copy/', Overwrite: 'F' } })).status, 412);
    assert.equal((await req('COPY', home + 'src/', { headers: { Destination: home + 'copy/' } })).status, 204);
    assert.equal((await req('COPY', home + 'src/a.txt', { headers: { Destination: 'http://elsewhere.example/dav/files/alice/x' } })).status, 502);
    assert.equal((await req('COPY', home + 'src/a.txt', { headers: { Destination: '/dav/files/bob/x' } })).status, 403);
    assert.equal((await req('MOVE', home + 'src/', { headers: { Destination: home + 'moved/' } })).status, 201);
    assert.equal((await req('GET', home + 'src/a.txt')).status, 404);
    assert.equal(await (await req('GET', home + 'moved/a.txt')).text(), 'A');
    assert.equal((await req('MOVE', home + 'moved/', { headers: { Destination: home + 'moved/inside/' } })).status, 409);
    assert.equal((await req('COPY', home + 'moved/a.txt', { headers: { Destination: home + 'missing/a.txt' } })).status, 409);
  });

  test('COPY Depth 0 of a collection copies it without members', async () => {
    await req('MKCOL', home + 'shallow');
    await req('PUT', home + 'shallow/x.txt', { body: 'x' });
    assert.equal((await req('COPY', home + 'shallow/', { headers: { Destination: home + 'shallow2/', Depth: '0' } })).status, 201);
    const list = await (await req('PROPFIND', home + 'shallow2/', { headers: { Depth: '1' } })).text();
    assert.deepEqual(hrefs(list), [home + 'shallow2/']);
  });

  test('DELETE removes a tree; its unshared blobs are collected', async () => {
    await req('MKCOL', home + 'doomed');
    await req('MKCOL', home + 'doomed/inner');
    await req('PUT', home + 'doomed/inner/unique.bin', { body: 'only here ' + Date.now() });
    assert.equal((await req('DELETE', home + 'doomed')).status, 204);
    assert.equal((await req('PROPFIND', home + 'doomed/', { headers: { Depth: '0' } })).status, 404);
    assert.equal((await req('DELETE', home + 'doomed')).status, 404);
    const rows = await server.store.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.user_id = b.user_id AND n.blob_sha256 = b.sha256)`,
    );
    assert.equal(rows[0]!.n, 0);
  });
});

describe('bad input', () => {
  test('malformed XML is 400; DOCTYPE and entities are refused', async () => {
    assert.equal((await req('PROPFIND', home, { body: '<propfind xmlns="DAV:"><prop>' })).status, 400);
    assert.equal((await req('PROPFIND', home, { body: 'not xml at all' })).status, 400);
    const xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><propfind xmlns="DAV:"><prop>&x;</prop></propfind>';
    const res = await req('PROPFIND', home, { body: xxe });
    assert.equal(res.status, 400);
    assert.ok(!(await res.text()).includes('root:'));
    const wrongRoot = await req('PROPPATCH', home, { body: '<propfind xmlns="DAV:"/>' });
    assert.equal(wrongRoot.status, 400);
  });

  test('an XML body over the limit is 413', async () => {
    const huge = '<propfind xmlns="DAV:"><prop>' + '<x/>'.repeat(400_000) + '</prop></propfind>';
    assert.equal((await req('PROPFIND', home, { body: huge })).status, 413);
  });

  test('hostile paths stay inside the tree: dot segments, encoded slashes, NUL, bad UTF-8', async () => {
    for (const p of [home + '..%2F..%2Fbob%2F', home + '%2e%2e/', home + 'a%2fb', home + 'a%00b', home + '%C0%AE%C0%AE/', home + '%ff']) {
      const res = await rawRequest('PROPFIND', p, { Depth: '0' });
      assert.equal(res.status, 400, p);
    }
    const res = await rawRequest('PROPFIND', '/dav/files/alice/../bob/', { Depth: '0' });
    assert.equal(res.status, 400);
  });

  test('invalid Depth and Overwrite headers are 400', async () => {
    assert.equal((await req('PROPFIND', home, { headers: { Depth: '2' } })).status, 400);
    await req('PUT', home + 'ow.txt', { body: 'o' });
    assert.equal((await req('COPY', home + 'ow.txt', { headers: { Destination: home + 'ow2.txt', Overwrite: 'maybe' } })).status, 400);
  });
});
