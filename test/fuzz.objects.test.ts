/**
 * Hostile iCalendar and vCard bodies PUT into a calendar and an address book: mutated valid
 * objects (lines dropped, duplicated, swapped, re-folded; dates, RRULEs, parameters and values
 * mutated) and garbage. Oracle: never a 5xx; a refused PUT leaves the old object byte for byte
 * (same ETag); an accepted one reads back and parses again with the server's own parser, and
 * the queries, multigets and free-busy reports over it still answer.
 *
 * FUZZ_RUNS=20000 node --import tsx --test test/fuzz.*.test.ts   (a longer run)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseCalendarObject } from '../src/dav/caldav/ical/object.js';
import { parseVCard } from '../src/dav/carddav/vcard/card.js';
import { fc, fuzzOptions, icalBody, unique, vcardBody, wellFormed } from './helpers/fuzz.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const C = 'urn:ietf:params:xml:ns:caldav';
const A = 'urn:ietf:params:xml:ns:carddav';
const calendar = '/dav/calendars/alice/fuzz/';
const book = '/dav/addressbooks/alice/fuzz/';
let server: TestServer;

const lines = (...l: string[]) => l.join('\r\n') + '\r\n';
const VCAL = (...inner: string[]) => lines('BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//fuzz//EN', ...inner, 'END:VCALENDAR');

const ICAL_SEEDS = [
  VCAL(
    'BEGIN:VEVENT', 'UID:@UID@', 'DTSTAMP:20060101T000000Z', 'DTSTART;TZID=Europe/Paris:20060104T100000', 'DTEND;TZID=Europe/Paris:20060104T110000',
    'RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=WE', 'EXDATE;TZID=Europe/Paris:20060118T100000', 'RDATE;TZID=Europe/Paris:20060120T100000', 'SUMMARY:Team meeting',
    'BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:Soon', 'TRIGGER:-PT15M', 'END:VALARM', 'END:VEVENT',
    'BEGIN:VEVENT', 'UID:@UID@', 'DTSTAMP:20060101T000000Z', 'RECURRENCE-ID;TZID=Europe/Paris:20060111T100000', 'DTSTART;TZID=Europe/Paris:20060111T120000',
    'DURATION:PT1H', 'SUMMARY:Moved', 'END:VEVENT',
  ),
  VCAL('BEGIN:VEVENT', 'UID:@UID@', 'DTSTAMP:20060101T000000Z', 'DTSTART;VALUE=DATE:20060104', 'DTEND;VALUE=DATE:20060105', 'RRULE:FREQ=YEARLY', 'SUMMARY:Birthday', 'TRANSP:TRANSPARENT', 'END:VEVENT'),
  VCAL(
    'BEGIN:VTIMEZONE', 'TZID:Custom/Zone', 'BEGIN:STANDARD', 'DTSTART:19701025T030000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100',
    'END:STANDARD', 'BEGIN:DAYLIGHT', 'DTSTART:19700329T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'END:DAYLIGHT', 'END:VTIMEZONE',
    'BEGIN:VEVENT', 'UID:@UID@', 'DTSTAMP:20060101T000000Z', 'DTSTART;TZID=Custom/Zone:20060104T100000', 'DURATION:PT30M', 'RRULE:FREQ=DAILY;UNTIL=20060201T000000Z;INTERVAL=3',
    'ATTENDEE;PARTSTAT=NEEDS-ACTION;CN="A, B":mailto:a@example.org', 'ORGANIZER:mailto:o@example.org', 'END:VEVENT',
  ),
  VCAL('BEGIN:VTODO', 'UID:@UID@', 'DTSTAMP:20060101T000000Z', 'DTSTART:20060104T090000Z', 'DUE:20060105T000000Z', 'RRULE:FREQ=MONTHLY;BYMONTHDAY=31;COUNT=6', 'SUMMARY:Task', 'STATUS:NEEDS-ACTION', 'END:VTODO'),
  VCAL('BEGIN:VEVENT', 'UID:@UID@', 'DTSTAMP:20060101T000000Z', 'DTSTART;TZID=W. Europe Standard Time:20060104T100000', 'DTEND;TZID=W. Europe Standard Time:20060104T103000', 'SUMMARY:Outlook', 'END:VEVENT'),
  VCAL('BEGIN:VJOURNAL', 'UID:@UID@', 'DTSTAMP:20060101T000000Z', 'DTSTART;VALUE=DATE:20060104', 'SUMMARY:Notes', 'END:VJOURNAL'),
  VCAL('BEGIN:VEVENT', 'UID:@UID@', 'DTSTAMP:20060101T000000Z', 'DTSTART:20060104T100000', 'DURATION:P1D', 'RDATE;VALUE=PERIOD:20060110T100000Z/PT2H,20060112T100000Z/20060112T120000Z', 'SUMMARY:Floating', 'END:VEVENT'),
];

const VCARD_SEEDS = [
  lines('BEGIN:VCARD', 'VERSION:3.0', 'UID:@UID@', 'FN:Ann Example', 'N:Example;Ann;;;', 'EMAIL;TYPE=INTERNET,WORK:ann@example.org', 'TEL;TYPE=CELL:+1 (555) 0100',
    'ADR;TYPE=HOME:;;1 Main St;Town;;12345;Country', 'ORG:Fuzz Inc.;Unit', 'BDAY:1980-02-29', 'item1.URL:http://example.org', 'item1.X-ABLabel:_$!<HomePage>!$_', 'NOTE:Line\\nbreak', 'END:VCARD'),
  lines('BEGIN:VCARD', 'VERSION:4.0', 'UID:@UID@', 'KIND:individual', 'FN:Bé Ünïcode', 'N:Ünïcode;Bé;;;', 'EMAIL;PREF=1:be@example.org', 'TEL;VALUE=uri;TYPE="voice,cell":tel:+1-555-0101',
    'PHOTO:data:image/png;base64,iVBORw0KGgo=', 'GENDER:F', 'ANNIVERSARY:20000101', 'END:VCARD'),
  lines('BEGIN:VCARD', 'VERSION:3.0', 'UID:@UID@', 'FN:Group', 'N:Group;;;;', 'X-ADDRESSBOOKSERVER-KIND:group', 'X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:abc', 'END:VCARD'),
];

before(async () => {
  server = await startTestServer({ users: ['alice'] });
  const components = ['VEVENT', 'VTODO', 'VJOURNAL'].map((c) => `<C:comp name="${c}"/>`).join('');
  const mkcalendar = `<C:mkcalendar xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><C:supported-calendar-component-set>${components}</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`;
  assert.equal((await server.request('MKCALENDAR', calendar, { body: mkcalendar })).status, 201);
  const mkbook = await server.request('MKCOL', book, {
    body: `<D:mkcol xmlns:D="DAV:" xmlns:A="${A}"><D:set><D:prop><D:resourcetype><D:collection/><A:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`,
  });
  assert.equal(mkbook.status, 201);
});
after(async () => {
  if (process.env.FUZZ_STATS) console.log('PUT statuses by collection:', JSON.stringify(Object.fromEntries(stats)));
  await server.close();
});

/** Statuses of the hostile PUTs (FUZZ_STATS=1 prints them): how many were accepted, how many refused. */
const stats = new Map<string, Record<number, number>>();

async function report(path: string, body: string, expected: number, what: string): Promise<void> {
  const res = await server.request('REPORT', path, { headers: { Depth: '1', 'Content-Type': 'application/xml' }, body });
  const text = await res.text();
  assert.equal(res.status, expected, `${what}: ${res.status} ${text.slice(0, 300)}`);
  if (expected === 207) wellFormed(text, what);
}

interface Kind {
  collection: string;
  extension: string;
  type: string;
  /** The server's own parser: what is stored must pass it again. */
  parse(text: string): unknown;
  /** Reports over the collection after an accepted PUT, with their expected status. */
  reads(href: string): Array<{ body: string; status: number }>;
}

const calendars: Kind = {
  collection: calendar,
  extension: '.ics',
  type: 'text/calendar; charset=utf-8',
  parse: (text) => parseCalendarObject(text, { supportedComponents: ['VEVENT', 'VTODO', 'VJOURNAL'] }),
  reads: (href) => [
    {
      body: `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/><C:calendar-data><C:expand start="20060101T000000Z" end="20070101T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20060101T000000Z" end="20070101T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
      status: 207,
    },
    {
      body: `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><C:calendar-data><C:limit-recurrence-set start="20060101T000000Z" end="20060201T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:time-range start="20050101T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
      status: 207,
    },
    {
      body: `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:comp-filter name="VALARM"><C:time-range start="20060101T000000Z" end="20060301T000000Z"/></C:comp-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
      status: 207,
    },
    { body: `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>${href}</D:href></C:calendar-multiget>`, status: 207 },
    { body: `<C:free-busy-query xmlns:C="${C}"><C:time-range start="20060101T000000Z" end="20060301T000000Z"/></C:free-busy-query>`, status: 200 },
  ],
};

const books: Kind = {
  collection: book,
  extension: '.vcf',
  type: 'text/vcard; charset=utf-8',
  parse: (text) => parseVCard(text),
  reads: (href) => [
    {
      body: `<A:addressbook-query xmlns:D="DAV:" xmlns:A="${A}"><D:prop><D:getetag/><A:address-data version="4.0"/></D:prop><A:filter test="anyof"><A:prop-filter name="FN"><A:text-match match-type="contains">e</A:text-match></A:prop-filter><A:prop-filter name="TEL"><A:text-match>555</A:text-match></A:prop-filter><A:prop-filter name="EMAIL"><A:param-filter name="TYPE"><A:text-match>work</A:text-match></A:param-filter></A:prop-filter></A:filter></A:addressbook-query>`,
      status: 207,
    },
    { body: `<A:addressbook-multiget xmlns:D="DAV:" xmlns:A="${A}"><D:prop><D:getetag/><A:address-data version="3.0"><A:prop name="FN"/><A:prop name="TEL"/></A:address-data></D:prop><D:href>${href}</D:href></A:addressbook-multiget>`, status: 207 },
    { body: `<A:addressbook-multiget xmlns:D="DAV:" xmlns:A="${A}"><D:prop><A:address-data version="4.0"/></D:prop><D:href>${href}</D:href></A:addressbook-multiget>`, status: 207 },
  ],
};

/** One case: maybe a valid object first; then the hostile body on the same URL; then the oracle. */
async function putCase(kind: Kind, seed: string, hostile: string, replace: boolean): Promise<void> {
  const uid = unique('uid-');
  const name = unique('o') + kind.extension;
  const href = kind.collection + name;
  const headers = { 'Content-Type': kind.type };
  const original = seed.replaceAll('@UID@', uid);
  let before: { text: string; etag: string | null } | undefined;
  if (replace) {
    const first = await server.request('PUT', href, { body: original, headers });
    assert.equal(first.status, 201, `the seed object is accepted: ${await first.text()}`);
    before = { text: original, etag: first.headers.get('etag') };
  }

  const res = await server.request('PUT', href, { body: hostile.replaceAll('@UID@', uid), headers });
  const answer = await res.text();
  const seen = stats.get(kind.collection) ?? {};
  seen[res.status] = (seen[res.status] ?? 0) + 1;
  stats.set(kind.collection, seen);
  assert.ok(res.status < 500, `PUT ${JSON.stringify(hostile.slice(0, 3000))}: ${res.status} ${answer.slice(0, 300)}`);

  const get = await server.request('GET', href);
  const stored = await get.text();
  if (res.status >= 300) {
    if (before) {
      assert.equal(get.status, 200);
      assert.equal(stored, before.text, 'a refused PUT leaves the old object as it was');
      assert.equal(get.headers.get('etag'), before.etag);
    } else {
      assert.equal(get.status, 404, 'a refused PUT stores nothing');
    }
  } else {
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('etag'), res.headers.get('etag'));
    assert.doesNotThrow(() => kind.parse(stored), 'what was accepted parses again');
    for (const [i, { body, status }] of kind.reads(href).entries()) await report(kind.collection, body, status, `read ${i} after accepting ${JSON.stringify(stored.slice(0, 3000))}`);
  }
  const gone = await server.request('DELETE', href);
  assert.ok(gone.status === 204 || gone.status === 404, `DELETE: ${gone.status}`);
}

const RUNS = 100;

describe('iCalendar bodies', () => {
  test('PUT into a calendar: never 5xx, nothing stored on refusal, accepted objects parse and answer queries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ICAL_SEEDS), icalBody(ICAL_SEEDS), fc.boolean(), async (seed, hostile, replace) => putCase(calendars, seed, hostile, replace)),
      fuzzOptions(RUNS),
    );
  });
});

describe('vCard bodies', () => {
  test('PUT into an address book: never 5xx, nothing stored on refusal, accepted cards parse and answer queries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...VCARD_SEEDS), vcardBody(VCARD_SEEDS), fc.boolean(), async (seed, hostile, replace) => putCase(books, seed, hostile, replace)),
      fuzzOptions(RUNS),
    );
  });
});

describe('regressions found by this fuzzer', () => {
  const refused = async (path: string, body: string, type: string, condition: RegExp) => {
    const res = await server.request('PUT', path, { body, headers: { 'Content-Type': type } });
    const text = await res.text();
    assert.equal(res.status, 403, text);
    assert.match(text, condition);
    assert.equal((await server.request('GET', path)).status, 404, 'nothing stored');
  };

  test('a value ical.js cannot decode (VERSION;VALUE=DATE:2.0) is 403 valid-calendar-data, not 500', async () => {
    const ics = lines('BEGIN:VCALENDAR', 'VERSION;VALUE=DATE:2.0', 'PRODID:x', 'BEGIN:VTODO', 'UID:r1', 'DTSTAMP:20060101T000000Z', 'END:VTODO', 'END:VCALENDAR');
    await refused(calendar + 'r1.ics', ics, 'text/calendar', /<valid-calendar-data xmlns="urn:ietf:params:xml:ns:caldav"\/>/);
  });

  test('a vCard value ical.js cannot decode (TEL;VALUE=DATE:tel:…) is 403 valid-address-data, not 500', async () => {
    const vcf = lines('BEGIN:VCARD', 'VERSION:4.0', 'UID:r2', 'FN:x', 'TEL;VALUE=DATE:tel:+1-555-0101', 'END:VCARD');
    await refused(book + 'r2.vcf', vcf, 'text/vcard', /<valid-address-data xmlns="urn:ietf:params:xml:ns:carddav"\/>/);
  });

  test('NUL in a vCard or an iCalendar object is 403, not a 500 from PostgreSQL', async () => {
    await refused(book + 'r3.vcf', lines('BEGIN:VCARD', 'VERSION:3.0', 'UID:r3', 'FN:x', 'X-ADDRESSBOOKSERVER-KIND:\u0000', 'END:VCARD'), 'text/vcard', /valid-address-data/);
    await refused(calendar + 'r4.ics', VCAL('BEGIN:VEVENT', 'UID:r4', 'DTSTAMP:20060101T000000Z', 'DTSTART:20060104T100000Z', 'SUMMARY:a\u0000b', 'END:VEVENT'), 'text/calendar', /valid-calendar-data/);
  });
});

describe('regressions: control characters in stored data', () => {
  test('an accepted object with control characters is served byte for byte by GET, and as well-formed XML by reports', async () => {
    const ics = VCAL('BEGIN:VEVENT', 'UID:ctl', 'DTSTAMP:20060101T000000Z', 'DTSTART:20060104T100000Z', 'SUMMARY:a\u0001b\u001bc\ufffed', 'END:VEVENT');
    const put = await server.request('PUT', calendar + 'ctl.ics', { body: ics, headers: { 'Content-Type': 'text/calendar' } });
    assert.ok(put.status === 201 || put.status === 403, String(put.status));
    if (put.status === 201) {
      assert.equal(await (await server.request('GET', calendar + 'ctl.ics')).text(), ics);
      await report(calendar, `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="${C}"><D:prop><C:calendar-data/></D:prop><D:href>${calendar}ctl.ics</D:href></C:calendar-multiget>`, 207, 'multiget with control characters');
      await server.request('DELETE', calendar + 'ctl.ics');
    }
  });

  test('a file whose name has a control character is listed in well-formed XML', async () => {
    assert.equal((await server.request('PUT', '/dav/files/alice/a%01b.txt', { body: 'x' })).status, 201);
    const res = await server.request('PROPFIND', '/dav/files/alice/', { headers: { Depth: '1' }, body: '<propfind xmlns="DAV:"><allprop/></propfind>' });
    assert.equal(res.status, 207);
    wellFormed(await res.text(), 'PROPFIND listing a%01b.txt');
  });
});

describe('regressions: time zones ical.js would expand without end', () => {
  const zone = (rule: string) =>
    lines('BEGIN:VTIMEZONE', 'TZID:Custom/Zone', 'BEGIN:STANDARD', 'DTSTART:19701025T030000', `RRULE:${rule}`, 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'END:STANDARD',
      'BEGIN:DAYLIGHT', 'DTSTART:19700329T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'END:DAYLIGHT', 'END:VTIMEZONE').trimEnd();
  const event = (rule: string, uid: string) => VCAL(zone(rule), 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20060101T000000Z', 'DTSTART;TZID=Custom/Zone:20060104T100000', 'DURATION:PT30M', 'END:VEVENT');
  const HOSTILE = ['FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30', 'FREQ=SECONDLY', 'FREQ=HOURLY', 'FREQ=YEARLY;BYMONTH=10;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23'];

  test('an object whose VTIMEZONE rule recurs more than yearly is 403 at once (a SECONDLY rule used to exhaust the heap)', async () => {
    for (const [i, rule] of HOSTILE.entries()) {
      const started = performance.now();
      const res = await server.request('PUT', `${calendar}tz${i}.ics`, { body: event(rule, `tz${i}`), headers: { 'Content-Type': 'text/calendar' } });
      const text = await res.text();
      assert.equal(res.status, 403, text);
      assert.match(text, /valid-calendar-data/);
      assert.ok(performance.now() - started < 5000, rule);
    }
    // Real zones, Outlook's week-of-month form included, still pass.
    const outlook = await server.request('PUT', `${calendar}outlook.ics`, { body: event('FREQ=YEARLY;BYMONTH=10;BYDAY=SU;BYMONTHDAY=25,26,27,28,29,30,31', 'outlook'), headers: { 'Content-Type': 'text/calendar' } });
    assert.equal(outlook.status, 201, await outlook.text());
    await server.request('DELETE', `${calendar}outlook.ics`);
  });

  test('as calendar-timezone it is refused; as a query timezone it is ignored (UTC), and the query answers', async () => {
    const wrapped = (rule: string) => VCAL(zone(rule)).replace(/\r\n/g, '&#13;\n');
    const patch = await server.request('PROPPATCH', calendar, {
      body: `<D:propertyupdate xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><C:calendar-timezone>${wrapped('FREQ=SECONDLY')}</C:calendar-timezone></D:prop></D:set></D:propertyupdate>`,
    });
    assert.equal(patch.status, 207);
    assert.match(await patch.text(), /403 Forbidden/);
    const started = performance.now();
    await report(calendar, `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20060101T000000Z" end="20070101T000000Z"/></C:comp-filter></C:comp-filter></C:filter><C:timezone>${wrapped('FREQ=SECONDLY')}</C:timezone></C:calendar-query>`, 207, 'query with a hostile timezone');
    assert.ok(performance.now() - started < 5000);
  });
});
