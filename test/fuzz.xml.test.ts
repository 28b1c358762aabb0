/**
 * Hostile XML request bodies for every method that reads one: structured mutations of valid
 * bodies and plain garbage. Oracle: never a 5xx; every XML answer is well-formed; the server
 * answers the next request; what an accepted PROPPATCH / MKCOL / MKCALENDAR / LOCK stored reads
 * back as well-formed XML, and the calendars it changed still answer queries.
 *
 * FUZZ_RUNS=20000 node --import tsx --test test/fuzz.*.test.ts   (a longer run)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fc, fuzzOptions, unique, wellFormed, xmlBody } from './helpers/fuzz.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const C = 'urn:ietf:params:xml:ns:caldav';
const A = 'urn:ietf:params:xml:ns:carddav';
const I = 'http://apple.com/ns/ical/';
const X = 'urn:x-fuzz';
const files = '/dav/files/alice/';
const calendar = '/dav/calendars/alice/personal/';
const book = '/dav/addressbooks/alice/contacts/';

let server: TestServer;
let syncToken = '';

const EVENT = [
  'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//fuzz//EN', 'BEGIN:VEVENT', 'UID:weekly@fuzz', 'DTSTAMP:20060101T000000Z',
  'DTSTART;TZID=Europe/Paris:20060104T100000', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY;COUNT=10', 'SUMMARY:Team meeting',
  'BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:x', 'TRIGGER:-PT15M', 'END:VALARM', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:weekly@fuzz', 'DTSTAMP:20060101T000000Z', 'RECURRENCE-ID;TZID=Europe/Paris:20060111T100000',
  'DTSTART;TZID=Europe/Paris:20060111T120000', 'DURATION:PT1H', 'SUMMARY:Moved meeting', 'END:VEVENT', 'END:VCALENDAR', '',
].join('\r\n');
const TODO = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//fuzz//EN', 'BEGIN:VTODO', 'UID:todo@fuzz', 'DTSTAMP:20060101T000000Z', 'DUE:20060105T000000Z', 'SUMMARY:Task', 'END:VTODO', 'END:VCALENDAR', ''].join('\r\n');
const CARD = ['BEGIN:VCARD', 'VERSION:3.0', 'UID:ann@fuzz', 'FN:Ann Example', 'N:Example;Ann;;;', 'EMAIL;TYPE=work:ann@example.org', 'TEL;TYPE=cell:+1 555 0100', 'ORG:Fuzz Inc.', 'END:VCARD', ''].join('\r\n');

before(async () => {
  server = await startTestServer({ users: ['alice', 'bob'] });
  const ok = async (res: Promise<Response>) => assert.ok((await res).status < 300);
  await ok(server.request('MKCOL', files + 'dir/'));
  await ok(server.request('PUT', files + 'dir/a.txt', { body: 'a' }));
  await ok(server.request('PUT', calendar + 'weekly.ics', { body: EVENT, headers: { 'Content-Type': 'text/calendar' } }));
  await ok(server.request('PUT', calendar + 'todo.ics', { body: TODO, headers: { 'Content-Type': 'text/calendar' } }));
  await ok(server.request('PUT', book + 'ann.vcf', { body: CARD, headers: { 'Content-Type': 'text/vcard' } }));
  const sync = await server.request('REPORT', files, { body: '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>' });
  syncToken = /<D:sync-token>([^<]*)</.exec(await sync.text())![1]!;
});
after(async () => {
  if (process.env.FUZZ_STATS) console.log('statuses by method:', JSON.stringify(Object.fromEntries(stats)));
  await server.close();
});

/** Statuses seen by method (FUZZ_STATS=1 prints them), to see how deep the mutations reach. */
const stats = new Map<string, Record<number, number>>();

/** Never a 5xx; an XML answer is well-formed. Returns the body. */
async function sane(res: Response, what: string): Promise<string> {
  const text = await res.text();
  assert.ok(res.status < 500, `${what}: ${res.status} ${text.slice(0, 300)}`);
  if (/xml/.test(res.headers.get('content-type') ?? '') && text !== '') wellFormed(text, what);
  return text;
}

/** The server still answers, and what is stored still reads back. */
async function stillUp(): Promise<void> {
  const res = await server.request('PROPFIND', files, { headers: { Depth: '0' } });
  assert.equal(res.status, 207, 'the server answers a follow-up request');
  await res.arrayBuffer();
}

/** Everything a collection holds reads back as well-formed XML, dead properties included. */
async function readsBack(path: string): Promise<void> {
  const res = await server.request('PROPFIND', path, { headers: { Depth: '1' }, body: '<propfind xmlns="DAV:"><allprop/></propfind>' });
  const text = await sane(res, `PROPFIND allprop ${path}`);
  assert.ok(res.status === 207 || res.status === 404, `PROPFIND allprop ${path}: ${res.status}`);
  if (res.status === 207) assert.ok(text.includes('<D:multistatus'));
}

async function send(method: string, path: string, body: string, headers: Record<string, string> = {}): Promise<{ res: Response; text: string }> {
  const res = await server.request(method, path, { body, headers: { 'Content-Type': 'application/xml; charset=utf-8', ...headers } });
  const text = await sane(res, `${method} ${path} with ${JSON.stringify(body.slice(0, 2000))}`);
  const seen = stats.get(method) ?? {};
  seen[res.status] = (seen[res.status] ?? 0) + 1;
  stats.set(method, seen);
  return { res, text };
}

const RUNS = 60;
const depth = fc.constantFrom('0', '1', 'infinity');

describe('XML bodies: PROPFIND', () => {
  const seeds = [
    `<D:propfind xmlns:D="DAV:" xmlns:C="${C}" xmlns:A="${A}"><D:prop><D:displayname/><D:resourcetype/><D:getetag/><C:calendar-home-set/><A:addressbook-home-set/><D:current-user-privilege-set/><D:quota-used-bytes/><D:lockdiscovery/><D:sync-token/><D:supported-report-set/><D:owner/><C:supported-calendar-component-set/></D:prop></D:propfind>`,
    '<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:supported-report-set/><D:quota-available-bytes/></D:include></D:propfind>',
    '<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>',
  ];
  test('never 5xx, on files, calendars, address books, principals and the virtual parents', async () => {
    const targets = fc.constantFrom(files, files + 'dir/', files + 'dir/a.txt', calendar, calendar + 'weekly.ics', book, '/dav/principals/alice/', '/dav/', '/', '/.well-known/caldav');
    await fc.assert(
      fc.asyncProperty(targets, depth, xmlBody(seeds), async (path, d, body) => {
        await send('PROPFIND', path, body, { Depth: d });
        await stillUp();
      }),
      fuzzOptions(RUNS),
    );
  });
});

describe('XML bodies: PROPPATCH', () => {
  const seeds = [
    `<D:propertyupdate xmlns:D="DAV:" xmlns:X="${X}"><D:set><D:prop><D:displayname>Name</D:displayname><X:color a="1">red<X:nested>deep</X:nested></X:color></D:prop></D:set><D:remove><D:prop><X:gone/></D:prop></D:remove></D:propertyupdate>`,
    `<D:propertyupdate xmlns:D="DAV:" xmlns:C="${C}" xmlns:I="${I}"><D:set><D:prop><C:calendar-description>d</C:calendar-description><I:calendar-color>#FF0000FF</I:calendar-color><I:calendar-order>2</I:calendar-order><C:calendar-timezone>BEGIN:VCALENDAR&#13;
VERSION:2.0&#13;
PRODID:x&#13;
BEGIN:VTIMEZONE&#13;
TZID:Europe/Paris&#13;
BEGIN:STANDARD&#13;
DTSTART:19701025T030000&#13;
TZOFFSETFROM:+0200&#13;
TZOFFSETTO:+0100&#13;
END:STANDARD&#13;
END:VTIMEZONE&#13;
END:VCALENDAR&#13;
</C:calendar-timezone></D:prop></D:set></D:propertyupdate>`,
    `<D:propertyupdate xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set><D:resourcetype><D:collection/></D:resourcetype><D:getetag>x</D:getetag></D:prop></D:set></D:propertyupdate>`,
    `<D:propertyupdate xmlns:D="DAV:" xmlns:A="${A}"><D:set><D:prop><A:addressbook-description xml:lang="de">Bücher</A:addressbook-description><D:displayname/></D:prop></D:set><D:remove><D:prop><D:displayname/></D:prop></D:remove></D:propertyupdate>`,
  ];
  test('never 5xx; whatever was accepted reads back; the calendar still answers queries', async () => {
    const targets = fc.constantFrom(files + 'dir/', files + 'dir/a.txt', calendar, calendar + 'weekly.ics', book, book + 'ann.vcf', '/dav/principals/alice/');
    await fc.assert(
      fc.asyncProperty(targets, xmlBody(seeds), async (path, body) => {
        await send('PROPPATCH', path, body);
        await readsBack(path.endsWith('/') ? path : path.slice(0, path.lastIndexOf('/') + 1));
        if (path.startsWith(calendar)) {
          const { res } = await send('REPORT', calendar, `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20060101T000000Z" end="20070101T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`, { Depth: '1' });
          assert.equal(res.status, 207);
        }
      }),
      fuzzOptions(RUNS),
    );
  });
});

describe('XML bodies: extended MKCOL and MKCALENDAR', () => {
  const mkcolSeeds = [
    `<D:mkcol xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Cal</D:displayname><C:supported-calendar-component-set><C:comp name="VEVENT"/><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set></D:mkcol>`,
    `<D:mkcol xmlns:D="DAV:" xmlns:A="${A}"><D:set><D:prop><D:resourcetype><D:collection/><A:addressbook/></D:resourcetype><D:displayname>Book</D:displayname><A:addressbook-description>x</A:addressbook-description></D:prop></D:set></D:mkcol>`,
    `<D:mkcol xmlns:D="DAV:" xmlns:X="${X}"><D:set><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:displayname>Plain</D:displayname><X:dead>v</X:dead></D:prop></D:set></D:mkcol>`,
  ];
  const mkcalendarSeeds = [
    `<C:mkcalendar xmlns:D="DAV:" xmlns:C="${C}" xmlns:I="${I}"><D:set><D:prop><D:displayname>Work</D:displayname><C:calendar-description xml:lang="en">d</C:calendar-description><I:calendar-color>#FF2968FF</I:calendar-color><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`,
    `<C:mkcalendar xmlns:D="DAV:" xmlns:C="${C}"/>`,
  ];
  const created = async (method: string, path: string, body: string) => {
    const { res } = await send(method, path, body);
    if (res.status === 201) {
      await readsBack(path);
      // A collection made from a mutated body must still take the objects of its kind (or refuse them cleanly).
      const object = path.startsWith('/dav/calendars/') ? { name: 'x.ics', body: TODO, type: 'text/calendar' } : path.startsWith('/dav/addressbooks/') ? { name: 'x.vcf', body: CARD, type: 'text/vcard' } : { name: 'x.txt', body: 'x', type: 'text/plain' };
      await sane(await server.request('PUT', path + object.name, { body: object.body, headers: { 'Content-Type': object.type } }), `PUT into ${path}`);
      await sane(await server.request('REPORT', path, { headers: { Depth: '1' }, body: '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>' }), `sync ${path}`);
    }
    const gone = await server.request('DELETE', path);
    assert.ok(gone.status < 500, `DELETE ${path}: ${gone.status}`);
    await stillUp();
  };
  test('MKCOL: never 5xx; what was created reads back and can be deleted', async () => {
    const homes = fc.constantFrom(files, '/dav/calendars/alice/', '/dav/addressbooks/alice/', files + 'dir/a.txt/', calendar);
    await fc.assert(
      fc.asyncProperty(homes, xmlBody(mkcolSeeds), async (home, body) => created('MKCOL', home + unique('mk') + '/', body)),
      fuzzOptions(RUNS),
    );
  });
  test('MKCALENDAR: never 5xx; what was created reads back and can be deleted', async () => {
    const homes = fc.constantFrom('/dav/calendars/alice/', files, calendar);
    await fc.assert(
      fc.asyncProperty(homes, xmlBody(mkcalendarSeeds), async (home, body) => created('MKCALENDAR', home + unique('mc') + '/', body)),
      fuzzOptions(RUNS),
    );
  });
});

describe('XML bodies: REPORT', () => {
  const tr = 'start="20060101T000000Z" end="20060301T000000Z"';
  const calendarSeeds = [
    `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/><C:calendar-data><C:expand ${tr}/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20060104T000000Z" end="20060105T000000Z"/><C:prop-filter name="SUMMARY"><C:text-match collation="i;ascii-casemap" negate-condition="no">meeting</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter><C:timezone>BEGIN:VCALENDAR&#13;
END:VCALENDAR</C:timezone></C:calendar-query>`,
    `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><C:calendar-data><C:comp name="VCALENDAR"><C:allprop/><C:comp name="VEVENT"><C:prop name="SUMMARY" novalue="yes"/><C:prop name="DTSTART"/></C:comp></C:comp><C:limit-recurrence-set ${tr}/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:comp-filter name="VALARM"><C:time-range ${tr}/></C:comp-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
    `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:allprop/><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:prop-filter name="COMPLETED"><C:is-not-defined/></C:prop-filter><C:prop-filter name="ATTENDEE"><C:param-filter name="PARTSTAT"><C:text-match>NEEDS-ACTION</C:text-match></C:param-filter></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
    `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/><C:calendar-data><C:limit-freebusy-set ${tr}/></C:calendar-data></D:prop><D:href>${calendar}weekly.ics</D:href><D:href>${calendar}todo.ics</D:href><D:href>${calendar}missing.ics</D:href><D:href>/dav/calendars/bob/personal/x.ics</D:href></C:calendar-multiget>`,
    `<C:free-busy-query xmlns:C="${C}"><C:time-range ${tr}/></C:free-busy-query>`,
  ];
  const bookSeeds = [
    `<A:addressbook-query xmlns:D="DAV:" xmlns:A="${A}"><D:prop><D:getetag/><A:address-data content-type="text/vcard" version="4.0"><A:prop name="FN"/><A:prop name="EMAIL"/></A:address-data></D:prop><A:filter test="anyof"><A:prop-filter name="FN"><A:text-match collation="i;unicode-casemap" match-type="contains">an</A:text-match></A:prop-filter><A:prop-filter name="EMAIL" test="allof"><A:param-filter name="TYPE"><A:text-match match-type="equals">work</A:text-match></A:param-filter><A:is-not-defined/></A:prop-filter></A:filter><A:limit><A:nresults>10</A:nresults></A:limit></A:addressbook-query>`,
    `<A:addressbook-multiget xmlns:D="DAV:" xmlns:A="${A}"><D:prop><D:getetag/><A:address-data version="3.0"/></D:prop><D:href>${book}ann.vcf</D:href><D:href>${book}missing.vcf</D:href><D:href>/dav/addressbooks/bob/contacts/x.vcf</D:href></A:addressbook-multiget>`,
  ];
  const syncSeeds = [
    '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:limit><D:nresults>5</D:nresults></D:limit><D:prop><D:getetag/><D:displayname/></D:prop></D:sync-collection>',
    `<D:sync-collection xmlns:D="DAV:"><D:sync-token>SYNC</D:sync-token><D:sync-level>infinite</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`,
  ];
  test('calendar-query, calendar-multiget, free-busy-query: never 5xx', async () => {
    const targets = fc.constantFrom(calendar, calendar + 'weekly.ics', '/dav/calendars/alice/', book, files);
    await fc.assert(
      fc.asyncProperty(targets, depth, xmlBody(calendarSeeds), async (path, d, body) => {
        await send('REPORT', path, body, { Depth: d });
        await stillUp();
      }),
      fuzzOptions(RUNS),
    );
  });
  test('addressbook-query, addressbook-multiget: never 5xx', async () => {
    const targets = fc.constantFrom(book, book + 'ann.vcf', '/dav/addressbooks/alice/', calendar);
    await fc.assert(
      fc.asyncProperty(targets, depth, xmlBody(bookSeeds), async (path, d, body) => {
        await send('REPORT', path, body, { Depth: d });
        await stillUp();
      }),
      fuzzOptions(RUNS),
    );
  });
  test('sync-collection: never 5xx, with real, stale and forged tokens', async () => {
    const targets = fc.constantFrom(files, files + 'dir/', calendar, book, files + 'dir/a.txt');
    const seeds = syncSeeds.map((s) => s.replace('SYNC', syncToken));
    await fc.assert(
      fc.asyncProperty(targets, xmlBody(seeds), async (path, body) => {
        await send('REPORT', path, body, { Depth: '0' });
        await stillUp();
      }),
      fuzzOptions(RUNS),
    );
  });
});

describe('XML bodies: LOCK', () => {
  const seeds = [
    '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>http://example.org/~alice</D:href></D:owner></D:lockinfo>',
    `<D:lockinfo xmlns:D="DAV:" xmlns:X="${X}"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>Alice <X:phone>+1</X:phone></D:owner></D:lockinfo>`,
  ];
  test('never 5xx; a granted lock reads back in lockdiscovery and UNLOCK releases it', async () => {
    await server.request('MKCOL', files + 'locks/');
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.constantFrom('0', 'infinity', '1'), xmlBody(seeds), async (collection, d, body) => {
        const path = files + 'locks/' + unique('l') + (collection ? '/' : '.txt');
        if (collection) await server.request('MKCOL', path);
        const { res } = await send('LOCK', path, body, { Depth: d, Timeout: 'Second-60' });
        if (res.status === 200 || res.status === 201) {
          const token = res.headers.get('lock-token');
          assert.ok(token, 'a granted lock has a Lock-Token');
          const props = await server.request('PROPFIND', path, { headers: { Depth: '0' }, body: '<propfind xmlns="DAV:"><prop><lockdiscovery/></prop></propfind>' });
          assert.equal(props.status, 207);
          await sane(props, `lockdiscovery of ${path}`);
          const unlock = await server.request('UNLOCK', path, { headers: { 'Lock-Token': token } });
          assert.equal(unlock.status, 204);
        }
        await stillUp();
      }),
      fuzzOptions(RUNS),
    );
  });
});

describe('regressions found by this fuzzer', () => {
  test('character references to what XML forbids (&#0;, &#x1;, &#xD800;) are 400, never stored (NUL was a 500 from PostgreSQL)', async () => {
    for (const reference of ['&#0;', '&#x1;', '&#xD800;', '&#xFFFE;']) {
      const bodies: Array<[string, string, string]> = [
        ['PROPPATCH', files + 'dir/', `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="${X}">a${reference}b</x></D:prop></D:set></D:propertyupdate>`],
        ['PROPPATCH', files + 'dir/', `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="${X}" a="${reference}">v</x></D:prop></D:set></D:propertyupdate>`],
        ['MKCALENDAR', '/dav/calendars/alice/refs/', `<C:mkcalendar xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><D:displayname>a${reference}b</D:displayname></D:prop></D:set></C:mkcalendar>`],
        ['LOCK', files + 'refs.txt', `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>a${reference}b</D:owner></D:lockinfo>`],
        ['REPORT', book, `<A:addressbook-query xmlns:D="DAV:" xmlns:A="${A}"><D:prop><D:getetag/></D:prop><A:filter><A:prop-filter name="FN"><A:text-match>a${reference}b</A:text-match></A:prop-filter></A:filter></A:addressbook-query>`],
      ];
      for (const [method, path, body] of bodies) {
        const res = await server.request(method, path, { body, headers: { Depth: '0' } });
        const text = await res.text();
        assert.equal(res.status, 400, `${method} ${reference}: ${text}`);
        assert.match(text, /is not allowed in XML/);
      }
    }
    await readsBack(files + 'dir/');
    assert.equal((await server.request('PROPFIND', '/dav/calendars/alice/refs/', { headers: { Depth: '0' } })).status, 404);
  });
});
