/**
 * Limits with clear answers: body sizes (413), XML depth and element count, entity expansion,
 * hrefs per multiget, instances per recurrence expansion, PROPFIND Depth infinity, slow clients
 * (headers and bodies dribbled over a raw socket), and uploads per user at once.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { MAX_MULTIGET_HREFS } from '../src/dav/reports/objects.js';
import { MAX_INFINITY_RESOURCES } from '../src/dav/methods/propfind.js';
import { uploadsInProgress, UPLOAD_RETRY_AFTER_SECONDS } from '../src/dav/upload-limit.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const C = 'urn:ietf:params:xml:ns:caldav';
const A = 'urn:ietf:params:xml:ns:carddav';
const files = '/dav/files/alice/';
const calendar = '/dav/calendars/alice/personal/';
const book = '/dav/addressbooks/alice/contacts/';
let server: TestServer;

before(async () => {
  server = await startTestServer({ users: ['alice', 'bob'], env: { MAX_UPLOAD_BYTES: '100000', MAX_UPLOADS_PER_USER: '2' } });
});
after(() => server.close());

const req = (method: string, path: string, options?: Parameters<TestServer['request']>[2]) => server.request(method, path, options);

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), 'timed out waiting');
}

describe('request bodies', () => {
  test('an XML body over MAX_XML_BYTES (1 MiB) is 413; streamed past it, the request is cut off; nothing is stored', async () => {
    const huge = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:huge">' + 'y'.repeat(1024 * 1024) + '</x></D:prop></D:set></D:propertyupdate>';
    const res = await req('PROPPATCH', files, { body: huge });
    assert.equal(res.status, 413);
    assert.match(await res.text(), /larger than 1048576 bytes/);
    // Without a Content-Length the limit is found while reading: the server stops reading and
    // drops the connection, so the client sees a 413 or a closed connection, never more.
    const streamed = await req('PROPPATCH', files, { body: (async function* () { yield Buffer.from(huge); })() }).then((r) => r.status, () => 'closed');
    assert.ok(streamed === 413 || streamed === 'closed', String(streamed));
    const props = await (await req('PROPFIND', files, { headers: { Depth: '0' }, body: '<propfind xmlns="DAV:"><allprop/></propfind>' })).text();
    assert.ok(!props.includes('urn:huge'));
  });

  test('a file over MAX_UPLOAD_BYTES is 413 and stores nothing', async () => {
    const res = await req('PUT', files + 'big.bin', { body: Buffer.alloc(100_001) });
    assert.equal(res.status, 413);
    assert.match(await res.text(), /100000 bytes/);
    assert.equal((await req('GET', files + 'big.bin')).status, 404);
  });
});

describe('XML structure', () => {
  const nested = (depth: number) => '<propfind xmlns="DAV:"><prop><displayname>' + '<x>'.repeat(depth) + '</x>'.repeat(depth) + '</displayname></prop></propfind>';
  test('nesting deeper than 64 levels is 400 with a message saying so; 64 is fine', async () => {
    const deep = await req('PROPPATCH', files, { body: nested(70) });
    assert.equal(deep.status, 400);
    assert.match(await deep.text(), /nested deeper than 64 levels/);
    // 3 levels above the <x>s: 61 more is 64 in all.
    assert.equal((await req('PROPFIND', files, { headers: { Depth: '0' }, body: nested(61) })).status, 207);
    // Far deeper than any stack: still a plain 400, and the server goes on.
    const abyss = await req('PROPFIND', files, { headers: { Depth: '0' }, body: '<a>'.repeat(15_000) + '</a>'.repeat(15_000) });
    assert.equal(abyss.status, 400);
    assert.equal((await req('PROPFIND', files, { headers: { Depth: '0' } })).status, 207);
  });

  test('more than 100 000 elements is 413 with a message saying so', async () => {
    const bigServer = await startTestServer({ env: { MAX_XML_BYTES: String(4 * 1024 * 1024) } });
    try {
      const many = '<propfind xmlns="DAV:"><prop>' + '<x/>'.repeat(100_000) + '</prop></propfind>';
      const res = await bigServer.request('PROPFIND', files, { headers: { Depth: '0' }, body: many });
      assert.equal(res.status, 413);
      assert.match(await res.text(), /more than 100000 elements/);
    } finally {
      await bigServer.close();
    }
  });

  test('entity declarations are refused before any expansion: billion laughs, external and parameter entities', async () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('') +
      ']><propfind xmlns="DAV:"><prop><displayname>&lol9;</displayname></prop></propfind>';
    const bodies = [
      laughs,
      '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:1/evil.dtd"><propfind xmlns="DAV:"><allprop/></propfind>',
      '<?xml version="1.0"?><!doctype x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><propfind xmlns="DAV:"><allprop/></propfind>',
      '<!DOCTYPE propertyupdate [<!ENTITY x SYSTEM "file:///etc/passwd">]><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><y xmlns="urn:x">&x;</y></D:prop></D:set></D:propertyupdate>',
    ];
    for (const [method, path] of [['PROPFIND', files], ['PROPPATCH', files], ['REPORT', calendar], ['LOCK', files + 'l.txt'], ['MKCALENDAR', '/dav/calendars/alice/x/']] as const) {
      for (const body of bodies) {
        const started = performance.now();
        const res = await req(method, path, { headers: { Depth: '0' }, body });
        const text = await res.text();
        assert.equal(res.status, 400, `${method}: ${text}`);
        assert.match(text, /DOCTYPE and entity declarations are not accepted/);
        assert.ok(!text.includes('root:') && !text.includes('lollol'));
        assert.ok(performance.now() - started < 5000, 'refused at once');
      }
    }
    // Nothing was stored by the PROPPATCH attempts.
    const props = await (await req('PROPFIND', files, { headers: { Depth: '0' }, body: '<propfind xmlns="DAV:"><allprop/></propfind>' })).text();
    assert.ok(!props.includes('urn:x'));
  });
});

describe('reports', () => {
  const multiget = (root: string, ns: string, hrefs: string[]) =>
    `<R:${root} xmlns:D="DAV:" xmlns:R="${ns}"><D:prop><D:getetag/></D:prop>${hrefs.map((h) => `<D:href>${h}</D:href>`).join('')}</R:${root}>`;

  test(`a multiget of more than ${MAX_MULTIGET_HREFS} hrefs is 413 with a message; ${MAX_MULTIGET_HREFS} is answered`, async () => {
    for (const [collection, root, ns, ext] of [[calendar, 'calendar-multiget', C, '.ics'], [book, 'addressbook-multiget', A, '.vcf']] as const) {
      const hrefs = Array.from({ length: MAX_MULTIGET_HREFS + 1 }, (_, i) => `${collection}missing-${i}${ext}`);
      const big = await req('REPORT', collection, { headers: { Depth: '1' }, body: multiget(root, ns, hrefs) });
      assert.equal(big.status, 413, root);
      assert.match(await big.text(), new RegExp(`at most ${MAX_MULTIGET_HREFS} hrefs per multiget`));
      const ok = await req('REPORT', collection, { headers: { Depth: '1' }, body: multiget(root, ns, hrefs.slice(0, MAX_MULTIGET_HREFS)) });
      assert.equal(ok.status, 207, root);
      assert.equal((await ok.text()).match(/404 Not Found/g)?.length, MAX_MULTIGET_HREFS);
    }
  });

  test('recurrence expansion is bounded in instances and in time, even for rules that never match', async () => {
    const event = (uid: string, rule: string) =>
      ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20060101T000000Z', 'DTSTART:20060101T000000Z', 'DURATION:PT1S', `RRULE:${rule}`, 'SUMMARY:x', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    assert.equal((await req('MKCALENDAR', '/dav/calendars/alice/bounded/')).status, 201);
    for (const [uid, rule] of [['secondly', 'FREQ=SECONDLY'], ['never', 'FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30']] as const) {
      const put = await req('PUT', `/dav/calendars/alice/bounded/${uid}.ics`, { body: event(uid, rule), headers: { 'Content-Type': 'text/calendar' } });
      assert.equal(put.status, 201, await put.text());
    }
    const started = performance.now();
    const res = await req('REPORT', '/dav/calendars/alice/bounded/', {
      headers: { Depth: '1' },
      body: `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><C:calendar-data><C:expand start="20060101T000000Z" end="21000101T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20060101T000000Z" end="21000101T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
    });
    const text = await res.text();
    assert.equal(res.status, 207);
    // Per object: at most 5 000 instances from the open-ended rule; the one that never matches
    // has only its DTSTART instance (RFC 5545 §3.8.5.3: DTSTART always counts as the first).
    const perObject = text.split('<D:response>').slice(1).map((r) => r.match(/BEGIN:VEVENT/g)?.length ?? 0);
    assert.equal(perObject.length, 2);
    assert.ok(perObject.every((n) => n >= 1 && n <= 5_000), String(perObject));
    assert.ok(performance.now() - started < 10_000, 'answered in bounded time');
  });

  test(`PROPFIND Depth infinity over more than ${MAX_INFINITY_RESOURCES} resources is 403 propfind-finite-depth; Depth 1 still works`, async () => {
    assert.equal((await req('MKCOL', files + 'wide/')).status, 201);
    const [alice] = server.users;
    const parent = await server.store.db.query<{ id: number }>("SELECT id FROM nodes WHERE user_id = $1 AND name = 'wide'", [alice!.user.id]);
    await server.store.db.query(
      `INSERT INTO nodes (user_id, parent_id, name, kind, etag) SELECT $1, $2, 'c' || g, 'collection', '"x"' FROM generate_series(1, $3::int) g`,
      [alice!.user.id, parent[0]!.id, MAX_INFINITY_RESOURCES + 1],
    );
    const res = await req('PROPFIND', files + 'wide/', { headers: { Depth: 'infinity' } });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /<D:propfind-finite-depth\/>/);
    assert.equal((await req('PROPFIND', files, { headers: { Depth: 'infinity' } })).status, 403);
    assert.equal((await req('PROPFIND', files + 'wide/', { headers: { Depth: '1' } })).status, 207);
  });
});

describe('uploads per user at once (MAX_UPLOADS_PER_USER=2)', () => {
  /** A PUT whose body is held open until `release` is called. */
  function heldUpload(path: string, as = server.users[0]!): { done: Promise<Response>; release: () => void } {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const body = (async function* () {
      yield Buffer.from('first half, ');
      await released;
      yield Buffer.from('second half');
    })();
    return { done: req('PUT', path, { as, body }), release };
  }

  test('a third upload at once is 429 with Retry-After; another user is not affected; a slot frees when an upload ends', async () => {
    const [alice, bob] = server.users as [NonNullable<(typeof server.users)[0]>, NonNullable<(typeof server.users)[0]>];
    const first = heldUpload(files + 'one.txt');
    const second = heldUpload(calendar + 'two.ics');
    await until(() => uploadsInProgress(alice.user.id) === 2);

    const third = await req('PUT', files + 'three.txt', { body: 'three' });
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('retry-after'), String(UPLOAD_RETRY_AFTER_SECONDS));
    assert.match(await third.text(), /too many uploads at once \(at most 2\)/);
    // Address books count as well; reading is not an upload.
    assert.equal((await req('PUT', book + 'x.vcf', { body: 'BEGIN:VCARD\r\nEND:VCARD\r\n', headers: { 'Content-Type': 'text/vcard' } })).status, 429);
    assert.equal((await req('PROPFIND', files, { headers: { Depth: '1' } })).status, 207);
    assert.equal((await req('PUT', '/dav/files/bob/b.txt', { as: bob, body: 'bob' })).status, 201);

    first.release();
    assert.equal((await first.done).status, 201);
    await until(() => uploadsInProgress(alice.user.id) === 1);
    assert.equal((await req('PUT', files + 'three.txt', { body: 'three' })).status, 201);
    second.release();
    assert.ok((await second.done).status >= 400, 'not a calendar object: refused, and the slot is still given back');
    await until(() => uploadsInProgress(alice.user.id) === 0);
    assert.equal(await (await req('GET', files + 'one.txt')).text(), 'first half, second half');
  });

  test('an upload aborted by the client gives its slot back', async () => {
    const alice = server.users[0]!;
    const body = (async function* () {
      yield Buffer.from('partial');
      await new Promise(() => {});
    })();
    const aborted = server.request('PUT', files + 'aborted.txt', { body }).catch(() => undefined);
    await until(() => uploadsInProgress(alice.user.id) === 1);
    // The client goes away mid-body (fetch cannot abort a body it streams from an iterator, so the sockets are cut).
    server.running.server.closeAllConnections();
    await aborted;
    await until(() => uploadsInProgress(alice.user.id) === 0);
    assert.equal((await req('GET', files + 'aborted.txt')).status, 404);
  });
});

describe('slow clients (HEADERS_TIMEOUT_MS=1000, IDLE_TIMEOUT_MS=1500), over raw sockets', () => {
  let slow: TestServer;
  before(async () => {
    slow = await startTestServer({ env: { HEADERS_TIMEOUT_MS: '1000', IDLE_TIMEOUT_MS: '1500' } });
  });
  after(() => slow.close());

  /** Opens a raw connection; resolves with what the server sent and when it closed, in ms. */
  function connect(): { socket: net.Socket; closed: Promise<{ ms: number; received: string }> } {
    const { hostname, port } = new URL(slow.url);
    const socket = net.connect(Number(port), hostname);
    const started = performance.now();
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    socket.on('error', () => {});
    const closed = new Promise<{ ms: number; received: string }>((resolve) => socket.on('close', () => resolve({ ms: performance.now() - started, received })));
    return { socket, closed };
  }

  test('a client dribbling its headers is cut off after the headers timeout, while others are served', async () => {
    const clients = Array.from({ length: 20 }, () => connect());
    const timers = clients.map(({ socket }) => {
      socket.write(`PROPFIND ${files} HTTP/1.1\r\nHost: x\r\n`);
      return setInterval(() => socket.writable && socket.write('X-Slow: a\r\n'), 200);
    });
    try {
      // Served while the slow clients still hang on.
      let cutOff = 0;
      for (const c of clients) void c.closed.then(() => cutOff++);
      assert.equal((await slow.request('PROPFIND', files, { headers: { Depth: '0' } })).status, 207);
      assert.equal(cutOff, 0, 'answered before the slow clients were cut off');
      const results = await Promise.all(clients.map((c) => c.closed));
      for (const { ms, received } of results) {
        // The timeout, plus up to a second until Node's next check (more on a loaded machine).
        assert.ok(ms >= 900 && ms < 10_000, `closed after ${Math.round(ms)} ms`);
        assert.ok(received === '' || /^HTTP\/1\.1 408/.test(received), received.slice(0, 100));
      }
    } finally {
      for (const t of timers) clearInterval(t);
    }
  });

  test('a client that stops sending its body is cut off after the idle timeout and nothing is stored', async () => {
    const { socket, closed } = connect();
    socket.write(`PUT ${files}stalled.txt HTTP/1.1\r\nHost: x\r\nAuthorization: ${slow.users[0]!.authorization}\r\nContent-Length: 1000\r\n\r\npartial`);
    const { ms } = await closed;
    assert.ok(ms >= 1400 && ms < 10_000, `closed after ${Math.round(ms)} ms`);
    assert.equal((await slow.request('GET', files + 'stalled.txt')).status, 404);
    await until(() => uploadsInProgress(slow.users[0]!.user.id) === 0);
  });

  test('a client dribbling a body nobody reads (a PUT refused with 401) is disconnected with the answer', async () => {
    const { socket, closed } = connect();
    socket.write(`PUT ${files}anon.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n`);
    const timer = setInterval(() => socket.writable && socket.write('a'), 200);
    try {
      const { ms, received } = await closed;
      assert.match(received, /^HTTP\/1\.1 401 [^]*\r\nConnection: close\r\n/);
      assert.ok(ms < 1000, `closed after ${Math.round(ms)} ms`);
    } finally {
      clearInterval(timer);
    }
  });

  test('a client dribbling an XML body, never idle, is cut off once the idle timeout has passed in all', async () => {
    const { socket, closed } = connect();
    socket.write(`PROPPATCH ${files} HTTP/1.1\r\nHost: x\r\nAuthorization: ${slow.users[0]!.authorization}\r\nContent-Length: 100000\r\n\r\n<`);
    const timer = setInterval(() => socket.writable && socket.write(' '), 200);
    try {
      const { ms } = await closed;
      assert.ok(ms >= 1400 && ms < 10_000, `closed after ${Math.round(ms)} ms`);
    } finally {
      clearInterval(timer);
    }
    assert.equal((await slow.request('PROPFIND', files, { headers: { Depth: '0' } })).status, 207);
  });

  test('an idle keep-alive connection that never sends a request is closed', async () => {
    const { closed } = connect();
    const { ms } = await closed;
    assert.ok(ms < 10_000, `closed after ${Math.round(ms)} ms`);
  });
});
