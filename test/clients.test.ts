import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './helpers/server.js';

const WINDOWS = 'Microsoft-WebDAV-MiniRedir/10.0.22000';
const FINDER = 'WebDAVFS/3.0.0 (03008000) Darwin/22.1.0 (arm64)';
const lockinfo = (owner: string) =>
  `<?xml version="1.0" encoding="utf-8" ?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>${owner}</D:href></D:owner></D:lockinfo>`;

describe('Windows Mini-Redirector (Map network drive)', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(() => server.close());

  test('probes the root and the share without credentials first, then with them', async () => {
    const probe = await server.request('OPTIONS', '/', { as: null, headers: { 'User-Agent': WINDOWS, Translate: 'f' } });
    assert.equal(probe.status, 200);
    assert.match(probe.headers.get('dav') ?? '', /2/);
    assert.equal(probe.headers.get('ms-author-via'), 'DAV');
    const root = await server.request('PROPFIND', '/', { headers: { 'User-Agent': WINDOWS, Depth: '0', Translate: 'f' } });
    assert.equal(root.status, 207);
    // The share without its trailing slash is answered, not redirected (Windows does not follow).
    const share = await server.request('PROPFIND', '/dav/files/alice', { headers: { 'User-Agent': WINDOWS, Depth: '1', Translate: 'f' } });
    assert.equal(share.status, 207);
    assert.match(await share.text(), /<D:href>\/dav\/files\/alice\/<\/D:href>/);
    const missing = await server.request('PROPFIND', '/dav/files/alice/desktop.ini', { headers: { 'User-Agent': WINDOWS, Depth: '0' } });
    assert.equal(missing.status, 404);
  });

  test('saves a new file: LOCK the unmapped name, PUT 0 bytes, PROPPATCH Win32 times, PUT content, UNLOCK', async () => {
    const url = '/dav/files/alice/New%20Text%20Document.txt';
    const headers = { 'User-Agent': WINDOWS, Translate: 'f' };
    const locked = await server.request('LOCK', url, { headers: { ...headers, Timeout: 'Second-3600', 'Content-Type': 'text/xml; charset="utf-8"' }, body: lockinfo('DESKTOP\\alice') });
    assert.equal(locked.status, 201);
    const token = locked.headers.get('lock-token')!;
    assert.match(token, /^<urn:uuid:/);
    const If = `(${token})`;
    assert.equal((await server.request('PUT', url, { headers: { ...headers, If }, body: '' })).status, 204);
    const patched = await server.request('PROPPATCH', url, {
      headers: { ...headers, If, 'Content-Type': 'text/xml; charset="utf-8"' },
      body: `<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32CreationTime>Tue, 24 Nov 2026 10:00:00 GMT</Z:Win32CreationTime><Z:Win32LastAccessTime>Tue, 24 Nov 2026 10:00:00 GMT</Z:Win32LastAccessTime><Z:Win32LastModifiedTime>Tue, 24 Nov 2026 10:00:00 GMT</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>`,
    });
    assert.equal(patched.status, 207);
    const result = await patched.text();
    assert.doesNotMatch(result, /HTTP\/1.1 (4|5)\d\d/);
    assert.equal((await server.request('PUT', url, { headers: { ...headers, If, 'Content-Length': '5' }, body: 'hello' })).status, 204);
    // Without the token, another writer is refused while the lock lasts.
    assert.equal((await server.request('PUT', url, { headers, body: 'other' })).status, 423);
    assert.equal((await server.request('UNLOCK', url, { headers: { ...headers, 'Lock-Token': token } })).status, 204);
    assert.equal(await (await server.request('GET', url)).text(), 'hello');
    const props = await (await server.request('PROPFIND', url, { headers: { ...headers, Depth: '0' } })).text();
    assert.match(props, /Win32FileAttributes xmlns="urn:schemas-microsoft-com:">00000020</);
  });

  test('renames a folder with MOVE and deletes it', async () => {
    await server.request('MKCOL', '/dav/files/alice/New%20folder', { headers: { 'User-Agent': WINDOWS } });
    await server.request('PUT', '/dav/files/alice/New%20folder/a.txt', { body: 'a' });
    const moved = await server.request('MOVE', '/dav/files/alice/New%20folder', {
      headers: { 'User-Agent': WINDOWS, Destination: server.at('/dav/files/alice/Reports'), Overwrite: 'F' },
    });
    assert.equal(moved.status, 201);
    assert.equal(await (await server.request('GET', '/dav/files/alice/Reports/a.txt')).text(), 'a');
    assert.equal((await server.request('DELETE', '/dav/files/alice/Reports', { headers: { 'User-Agent': WINDOWS } })).status, 204);
  });
});

describe('macOS Finder', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(() => server.close());

  test('mounts: OPTIONS, PROPFIND with quota, probes for dot files that do not exist', async () => {
    const options = await server.request('OPTIONS', '/dav/files/alice/', { headers: { 'User-Agent': FINDER } });
    assert.match(options.headers.get('dav') ?? '', /\b2\b/, 'class 2, or Finder mounts read-only');
    const quota = await server.request('PROPFIND', '/dav/files/alice/', {
      headers: { 'User-Agent': FINDER, Depth: '0' },
      body: '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>',
    });
    const text = await quota.text();
    assert.match(text, /<D:quota-used-bytes>\d+<\/D:quota-used-bytes>/);
    // No quota set: the free space of the disk, so Finder and Windows can show it.
    const free = Number(/<D:quota-available-bytes>(\d+)</.exec(text)?.[1]);
    assert.ok(free > 0, text);
    assert.doesNotMatch(text, /<D:location>/);
    for (const probe of ['._.', '.Spotlight-V100', '.metadata_never_index', 'mach_kernel', 'Backups.backupdb']) {
      assert.equal((await server.request('PROPFIND', `/dav/files/alice/${probe}`, { headers: { 'User-Agent': FINDER, Depth: '0' } })).status, 404, probe);
    }
  });

  test('copies a file in: LOCK, chunked PUT with X-Expected-Entity-Length, resource fork file, UNLOCK', async () => {
    const url = '/dav/files/alice/photo.jpg';
    const locked = await server.request('LOCK', url, { headers: { 'User-Agent': FINDER, Depth: '0', Timeout: 'Second-600' }, body: lockinfo('http://www.apple.com/webdav_fs/') });
    assert.equal(locked.status, 201);
    const token = locked.headers.get('lock-token')!;
    const bytes = Buffer.alloc(300_000, 0xab);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 65_536) yield bytes.subarray(i, i + 65_536);
    }
    const put = await server.request('PUT', url, {
      headers: { 'User-Agent': FINDER, If: `(${token})`, 'X-Expected-Entity-Length': String(bytes.length), 'Content-Type': 'image/jpeg' },
      body: chunks(),
    });
    assert.equal(put.status, 204);
    assert.equal((await server.request('PUT', '/dav/files/alice/._photo.jpg', { headers: { 'User-Agent': FINDER }, body: Buffer.alloc(4096, 1) })).status, 201);
    assert.equal((await server.request('UNLOCK', url, { headers: { 'User-Agent': FINDER, 'Lock-Token': token } })).status, 204);
    const got = Buffer.from(await (await server.request('GET', url)).arrayBuffer());
    assert.ok(got.equals(bytes));
  });
});

describe('behind a reverse proxy with a path prefix (BASE_URL)', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer({ env: { BASE_URL: 'https://cloud.example.org/me/' } })));
  after(() => server.close());

  test('hrefs carry the prefix, Destination may use the public URL, the proxy sets protocol and host', async () => {
    const proxied = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'cloud.example.org' };
    await server.request('MKCOL', '/me/dav/files/alice/dir', { headers: proxied });
    await server.request('PUT', '/me/dav/files/alice/dir/a.txt', { headers: proxied, body: 'a' });
    const list = await (await server.request('PROPFIND', '/me/dav/files/alice/dir/', { headers: { ...proxied, Depth: '1' } })).text();
    assert.match(list, /<D:href>\/me\/dav\/files\/alice\/dir\/a.txt<\/D:href>/);
    const moved = await server.request('MOVE', '/me/dav/files/alice/dir/a.txt', { headers: { ...proxied, Destination: 'https://cloud.example.org/me/dav/files/alice/dir/b.txt' } });
    assert.equal(moved.status, 201);
    assert.equal(await (await server.request('GET', '/me/dav/files/alice/dir/b.txt', { headers: proxied })).text(), 'a');
    const root = await server.request('PROPFIND', '/me/', { headers: { ...proxied, Depth: '1' } });
    assert.match(await root.text(), /<D:href>\/me\/dav\/<\/D:href>/);
  });
});
