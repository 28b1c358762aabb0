/**
 * Hostile request lines and headers, sent byte for byte over a raw socket (fetch would refuse or
 * normalise them): paths with dot segments, encoded slashes, backslashes, NUL, overlong UTF-8
 * and other users' names, under every method; and Depth, Destination, If, Overwrite, Range,
 * Timeout, Authorization (and their neighbours) with structured and garbage values. Oracle:
 * never a 5xx (but the 502 of a COPY/MOVE to another server), never an answer from outside
 * alice's tree, and the server answers the next request.
 *
 * FUZZ_RUNS=20000 node --import tsx --test test/fuzz.*.test.ts   (a longer run)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fc, fuzzOptions, headerValue, hostilePath, rawRequest, unique } from './helpers/fuzz.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const files = '/dav/files/alice/';

before(async () => {
  server = await startTestServer({ users: ['alice', 'bob'] });
  await server.request('PUT', '/dav/files/bob/bob-secret.txt', { as: server.users[1]!, body: 'bob-secret-content' });
  await server.request('PUT', files + 'ok.txt', { body: 'ok' });
});
after(() => server.close());

/** Never a 5xx, except the 502 RFC 4918 §9.8.5 prescribes for a COPY or MOVE to another server. */
function acceptable(method: string, status: number, body: string): boolean {
  if (status === 502) return (method === 'COPY' || method === 'MOVE') && /Destination is on another server/.test(body);
  return status < 500;
}

async function stillUp(): Promise<void> {
  const res = await server.request('PROPFIND', files, { headers: { Depth: '0' } });
  assert.equal(res.status, 207, 'the server answers a follow-up request');
  await res.arrayBuffer();
}

const METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'MKCALENDAR', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'REPORT', 'LOCK', 'UNLOCK', 'OPTIONS', 'POST', 'TRACE', 'FOO'];
const BODIES: Record<string, string> = {
  PUT: 'fuzz',
  PROPFIND: '<propfind xmlns="DAV:"><allprop/></propfind>',
  PROPPATCH: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>',
  REPORT: '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>',
  LOCK: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
};

describe('paths', () => {
  test('hostile paths under every method: never 5xx, never another user’s data', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS), hostilePath, async (method, path) => {
        const res = await rawRequest(server.url, {
          method,
          path,
          headers: { Authorization: server.users[0]!.authorization, Depth: '1', Destination: server.at(files + unique('d')) },
          ...(BODIES[method] ? { body: BODIES[method] } : {}),
        });
        assert.ok(acceptable(method, res.status, res.body), `${method} ${path}: ${res.status} ${res.body.slice(0, 200)}`);
        assert.ok(!res.body.includes('bob-secret'), `${method} ${path} reveals bob's data`);
        await stillUp();
      }),
      fuzzOptions(150),
    );
  });
});

describe('headers', () => {
  const NAMES = ['Depth', 'Destination', 'If', 'Overwrite', 'Range', 'Timeout', 'Authorization', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'Lock-Token', 'Content-Type', 'Content-Range', 'X-Expected-Entity-Length'];
  test('hostile Depth, Destination, If, Overwrite, Range, Timeout, Authorization: never 5xx', async () => {
    const headers = fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 }).chain((names) =>
      fc.tuple(...names.map((name) => headerValue(name, server.url).map((value) => [name, value] as const))),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('PROPFIND', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'GET', 'HEAD', 'PUT', 'DELETE', 'PROPPATCH', 'REPORT'), fc.boolean(), headers, async (method, onCollection, pairs) => {
        // Each case on its own collection, so a MOVE or LOCK cannot spoil the next one.
        const dir = files + unique('h') + '/';
        await server.request('MKCOL', dir);
        await server.request('PUT', dir + 'f.txt', { body: 'original' });
        const path = onCollection ? dir : dir + 'f.txt';
        const sent: Record<string, string> = { Authorization: server.users[0]!.authorization, ...Object.fromEntries(pairs) };
        const res = await rawRequest(server.url, { method, path, headers: sent, ...(BODIES[method] ? { body: BODIES[method] } : {}) });
        assert.ok(acceptable(method, res.status, res.body), `${method} ${path} ${JSON.stringify(pairs)}: ${res.status} ${res.body.slice(0, 200)}`);
        assert.ok(!res.body.includes('bob-secret'));
        await stillUp();
      }),
      fuzzOptions(150),
    );
  });
});
