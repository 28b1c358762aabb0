/**
 * Hostile paths, byte for byte (over a raw socket, since fetch normalises dot segments): every
 * spelling of "..", encoded slashes and backslashes, NUL, overlong and invalid UTF-8, in the
 * request path and in Destination. And the other side: names that are fine here but not on
 * Windows (CON, aux.txt, a:b, trailing dot or space) stay servable through PUT, GET, PROPFIND, MOVE.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeSegment } from '../src/dav/paths.js';
import { rawRequest } from './helpers/fuzz.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const home = '/dav/files/alice/';

before(async () => {
  server = await startTestServer({ users: ['alice', 'bob'] });
  await server.request('PUT', '/dav/files/bob/secret.txt', { as: server.users[1]!, body: 'bob-secret-content' });
  await server.request('MKCOL', home + 'sub/');
  await server.request('PUT', home + 'sub/f.txt', { body: 'f' });
});
after(() => server.close());

const raw = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
  rawRequest(server.url, { method, path, headers: { Authorization: server.users[0]!.authorization, ...headers }, ...(body !== undefined ? { body } : {}) });

/** Everything alice has, by href. */
async function aliceHrefs(): Promise<string[]> {
  const res = await server.request('PROPFIND', home, { headers: { Depth: 'infinity' } });
  return [...(await res.text()).matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!).sort();
}

describe('traversal', () => {
  const REFUSED = [
    '..', '%2e%2e', '%2E%2E', '%2e.', '.%2E', '.', '%2e', 'sub/..', 'sub/%2e%2e', 'sub/%2E%2e/..',
    '..%2f..%2fbob', '..%2F', 'a%2fb', '%2f', 'sub%2F..%2F..%2Fbob',
    'a%00b', '%00', 'sub%00.txt',
    '%c0%ae%c0%ae', '%c0%af', '%e0%80%ae%e0%80%ae', '%f0%80%80%ae', '%c1%9c', '%ff', '%fe%ff', '%ed%a0%80',
  ];
  test('every spelling of .., encoded slashes, NUL and bad UTF-8 is 400 under every method, and reveals nothing', async () => {
    for (const segment of REFUSED) {
      for (const method of ['GET', 'PUT', 'DELETE', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'LOCK']) {
        const path = `${home}${segment}/secret.txt`;
        const res = await raw(method, path, { Depth: '0', Destination: server.at(home + 'dest.txt') }, method === 'PUT' ? 'pwned' : undefined);
        assert.equal(res.status, 400, `${method} ${path}: ${res.status} ${res.body.slice(0, 100)}`);
        assert.ok(!res.body.includes('bob-secret'));
      }
    }
  });

  test('a raw "../" climbing out of the home, or out of /dav/, is 400', async () => {
    for (const path of ['/dav/files/alice/../bob/secret.txt', '/dav/files/alice/sub/../../bob/secret.txt', '/dav/../dav/files/bob/secret.txt', '/dav/files/alice/./sub/f.txt']) {
      const res = await raw('GET', path);
      assert.equal(res.status, 400, path);
      assert.ok(!res.body.includes('bob-secret'));
    }
  });

  test('backslashes are ordinary name characters here: they never climb, and stay inside the tree', async () => {
    for (const name of ['..\\..\\bob\\secret.txt', '..%5c..%5cbob%5csecret.txt', 'a\\b', '%5c']) {
      const path = home + name;
      const put = await raw('PUT', path, {}, 'inside');
      assert.ok(put.status === 201 || put.status === 204 || put.status === 400, `${path}: ${put.status}`);
      if (put.status !== 400) {
        const get = await raw('GET', path);
        assert.equal(get.body, 'inside', path);
      }
    }
    assert.equal(await (await server.request('GET', '/dav/files/bob/secret.txt', { as: server.users[1]! })).text(), 'bob-secret-content');
    // Every new name is a direct member of alice's home.
    for (const href of await aliceHrefs()) assert.ok(href.startsWith(home), href);
  });

  test('Destination is held to the same rules: no climbing, no other user, no encoded slash', async () => {
    const before = await aliceHrefs();
    for (const destination of [
      '/dav/files/alice/../bob/x.txt', '/dav/files/alice/%2e%2e/bob/x.txt', '/dav/files/alice/..%2fbob%2fx.txt', '/dav/files/alice/a%00b',
      '/dav/files/alice/%c0%ae%c0%ae/x', '/dav/files/bob/x.txt', '/dav/calendars/alice/personal/x.txt', '/dav/principals/alice/', '/etc/passwd', '/dav/files/alice/sub/%2E%2E/%2E%2E/bob/',
    ]) {
      for (const method of ['COPY', 'MOVE']) {
        for (const form of [server.at(destination), destination]) {
          const res = await raw(method, home + 'sub/f.txt', { Destination: form, Overwrite: 'T' });
          assert.ok([400, 403, 409, 502].includes(res.status), `${method} → ${form}: ${res.status} ${res.body.slice(0, 100)}`);
        }
      }
    }
    assert.deepEqual(await aliceHrefs(), before, 'nothing moved or appeared');
    assert.equal((await server.request('PROPFIND', '/dav/files/bob/', { as: server.users[1]!, headers: { Depth: '1' } }).then((r) => r.text())).match(/<D:href>/g)?.length, 2);
  });

  test('a double-encoded "%252e%252e" is the literal name "%2e%2e", kept inside the tree', async () => {
    const res = await raw('PUT', home + '%252e%252e', {}, 'literal');
    assert.equal(res.status, 201);
    assert.equal(await (await server.request('GET', home + encodeSegment('%2e%2e'))).text(), 'literal');
  });
});

describe('names that Windows refuses stay servable', () => {
  const NAMES = ['CON', 'aux.txt', 'NUL', 'COM1.log', 'a:b', 'trailing.', 'trailing ', ' leading', 'what?', 'star*', 'pipe|', '<angle>', 'quote"', 'lpt9'];
  test('PUT, GET, PROPFIND, MOVE and DELETE each of them', async () => {
    assert.equal((await server.request('MKCOL', home + 'win/')).status, 201);
    for (const name of NAMES) {
      const href = home + 'win/' + encodeSegment(name);
      assert.equal((await server.request('PUT', href, { body: `content of ${name}` })).status, 201, name);
      const get = await server.request('GET', href);
      assert.equal(get.status, 200, name);
      assert.equal(await get.text(), `content of ${name}`);
      const list = await (await server.request('PROPFIND', home + 'win/', { headers: { Depth: '1' } })).text();
      assert.ok(list.includes(`<D:href>${href}</D:href>`), `${name} is listed as ${href}`);
      const moved = home + 'win/' + encodeSegment(`${name}.moved`);
      assert.equal((await server.request('MOVE', href, { headers: { Destination: server.at(moved) } })).status, 201, name);
      assert.equal(await (await server.request('GET', moved)).text(), `content of ${name}`);
      assert.equal((await server.request('DELETE', moved)).status, 204);
    }
    // And as collection names, with members.
    for (const name of ['CON', 'a:b', 'dir.']) {
      const href = home + 'win/' + encodeSegment(name) + '/';
      assert.equal((await server.request('MKCOL', href)).status, 201, name);
      assert.equal((await server.request('PUT', href + 'x.txt', { body: 'x' })).status, 201, name);
      assert.equal((await server.request('PROPFIND', href, { headers: { Depth: '1' } })).status, 207, name);
    }
  });
});

test('encodeSegment: RFC 3986 unreserved characters as they are, everything else percent-encoded', () => {
  assert.equal(encodeSegment('Event-1_a.b~c.ics'), 'Event-1_a.b~c.ics');
  assert.equal(encodeSegment("it's (1)*!"), 'it%27s%20%281%29%2A%21');
  assert.equal(encodeSegment('é/%'), '%C3%A9%2F%25');
  // The same as encodeURIComponent with !'()* encoded too, whether or not the name needs anything.
  const reference = (name: string) => encodeURIComponent(name).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  fc.assert(fc.property(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~-]*$/), fc.string(), fc.string({ unit: 'grapheme' })), (name) => assert.equal(encodeSegment(name), reference(name))), { numRuns: 5_000 });
});
