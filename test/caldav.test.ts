import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './helpers/server.js';

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/caldav/${name}`, import.meta.url), 'utf8');
const C = 'urn:ietf:params:xml:ns:caldav';
const home = '/dav/calendars/alice/';
let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(() => server.close());

const req = (method: string, path: string, options?: Parameters<TestServer['request']>[2]) => server.request(method, path, options);
const hrefs = (xml: string) => [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!);
const putEvent = (path: string, body: string, headers: Record<string, string> = {}) =>
  req('PUT', path, { body, headers: { 'Content-Type': 'text/calendar; charset=utf-8', ...headers } });

function query(filter: string, extra = ''): string {
  return `<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/></D:prop>${filter}${extra}</C:calendar-query>`;
}
const eventsIn = (start: string, end: string) =>
  `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="${start}" end="${end}"/></C:comp-filter></C:comp-filter></C:filter>`;
const todosIn = (start: string, end: string) =>
  `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:time-range start="${start}" end="${end}"/></C:comp-filter></C:comp-filter></C:filter>`;

async function matching(calendar: string, body: string): Promise<string[]> {
  const res = await req('REPORT', calendar, { headers: { Depth: '1', 'Content-Type': 'application/xml' }, body });
  assert.equal(res.status, 207, await res.clone().text());
  return hrefs(await res.text()).map((h) => h.slice(calendar.length));
}

describe('calendar collections', () => {
  test('a new user has a personal calendar for events and tasks', async () => {
    const res = await req('PROPFIND', home, { headers: { Depth: '1' }, body: `<propfind xmlns="DAV:"><prop><resourcetype/><C:supported-calendar-component-set xmlns:C="${C}"/></prop></propfind>` });
    const text = await res.text();
    assert.ok(hrefs(text).includes(home + 'personal/'));
    assert.match(text, /<calendar xmlns="urn:ietf:params:xml:ns:caldav"\/>/);
    assert.match(text, /name="VEVENT"\/><comp xmlns="urn:ietf:params:xml:ns:caldav" name="VTODO"/);
  });

  test('MKCALENDAR with initial properties; the properties read back; the same again is 405', async () => {
    const body = `<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="${C}" xmlns:A="http://apple.com/ns/ical/"><D:set><D:prop>
      <D:displayname>Work</D:displayname><C:calendar-description>Office things</C:calendar-description><A:calendar-color>#FF2968FF</A:calendar-color>
      <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`;
    assert.equal((await req('MKCALENDAR', home + 'work/', { body })).status, 201);
    const props = await (await req('PROPFIND', home + 'work/', { headers: { Depth: '0' }, body: `<propfind xmlns="DAV:"><prop><displayname/><C:calendar-description xmlns:C="${C}"/><calendar-color xmlns="http://apple.com/ns/ical/"/><C:supported-calendar-component-set xmlns:C="${C}"/><getctag xmlns="http://calendarserver.org/ns/"/></prop></propfind>` })).text();
    assert.match(props, /displayname[^>]*>Work</);
    assert.match(props, /Office things/);
    assert.match(props, /#FF2968FF/);
    assert.match(props, /name="VEVENT"/);
    assert.doesNotMatch(props, /name="VTODO"/);
    assert.match(props, /<getctag xmlns="http:\/\/calendarserver.org\/ns\/">\d+-\d+<\/getctag>/);
    assert.equal((await req('MKCALENDAR', home + 'work/')).status, 405);
  });

  test('PROPPATCH sets and removes calendar properties; a bad time zone changes nothing', async () => {
    const A = 'http://apple.com/ns/ical/';
    const patch = (inner: string) => req('PROPPATCH', home + 'personal/', { body: `<D:propertyupdate xmlns:D="DAV:" xmlns:C="${C}" xmlns:A="${A}">${inner}</D:propertyupdate>` });
    const tz = fixture('new-york-timezone.ics').replace(/</g, '&lt;');
    const set = await patch(`<D:set><D:prop><D:displayname>Home</D:displayname><A:calendar-color>#00FF00FF</A:calendar-color><A:calendar-order>3</A:calendar-order><C:calendar-timezone>${tz}</C:calendar-timezone></D:prop></D:set>`);
    assert.equal(set.status, 207);
    assert.doesNotMatch(await set.text(), /HTTP\/1.1 [45]/);
    const read = () => req('PROPFIND', home + 'personal/', { headers: { Depth: '0' }, body: `<propfind xmlns="DAV:"><prop><displayname/><calendar-color xmlns="${A}"/><calendar-order xmlns="${A}"/><C:calendar-timezone xmlns:C="${C}"/></prop></propfind>` }).then((r) => r.text());
    let props = await read();
    for (const expected of ['>Home<', '#00FF00FF', '>3<', 'TZID:America/New_York']) assert.ok(props.includes(expected), expected);
    const bad = await patch(`<D:set><D:prop><A:calendar-color>#000000FF</A:calendar-color><C:calendar-timezone>nonsense</C:calendar-timezone></D:prop></D:set>`);
    const badText = await bad.text();
    assert.match(badText, /calendar-timezone xmlns="urn:ietf:params:xml:ns:caldav"\/><\/D:prop><D:status>HTTP\/1.1 403/);
    assert.match(badText, /424 Failed Dependency/);
    props = await read();
    assert.ok(props.includes('#00FF00FF') && props.includes('TZID:America/New_York'), 'nothing changed');
    await patch(`<D:remove><D:prop><A:calendar-order/><C:calendar-timezone/></D:prop></D:remove>`);
    props = await read();
    assert.ok(!props.includes('>3<') && !props.includes('TZID:America/New_York'));
  });

  test('MKCALENDAR outside the calendar home is refused; a bad calendar-timezone creates nothing', async () => {
    assert.equal((await req('MKCALENDAR', '/dav/files/alice/cal/')).status, 403);
    const nested = await req('MKCALENDAR', home + 'personal/inner/');
    assert.equal(nested.status, 403);
    const bad = await req('MKCALENDAR', home + 'badtz/', {
      body: `<C:mkcalendar xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><D:displayname>X</D:displayname><C:calendar-timezone>not a calendar</C:calendar-timezone></D:prop></D:set></C:mkcalendar>`,
    });
    assert.equal(bad.status, 403);
    const text = await bad.text();
    assert.match(text, /mkcalendar-response/);
    assert.match(text, /424 Failed Dependency/);
    assert.equal((await req('PROPFIND', home + 'badtz/', { headers: { Depth: '0' } })).status, 404);
  });

  test('extended MKCOL (RFC 5689) makes a calendar; an unknown resource type is refused', async () => {
    const ok = await req('MKCOL', home + 'mkcol-cal/', {
      headers: { 'Content-Type': 'application/xml' },
      body: `<D:mkcol xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Via MKCOL</D:displayname></D:prop></D:set></D:mkcol>`,
    });
    assert.equal(ok.status, 201);
    const bad = await req('MKCOL', home + 'odd/', {
      headers: { 'Content-Type': 'application/xml' },
      body: `<D:mkcol xmlns:D="DAV:"><D:set><D:prop><D:resourcetype><D:collection/><x:thing xmlns:x="urn:x"/></D:resourcetype></D:prop></D:set></D:mkcol>`,
    });
    assert.equal(bad.status, 403);
    assert.match(await bad.text(), /valid-resourcetype/);
  });
});

describe('calendar objects', () => {
  const cal = home + 'personal/';

  test('PUT stores the bytes as sent; GET returns them with a strong ETag that follows the content', async () => {
    const weekly = fixture('weekly.ics');
    const put = await putEvent(cal + 'weekly.ics', weekly, { 'If-None-Match': '*' });
    assert.equal(put.status, 201);
    const etag = put.headers.get('etag')!;
    const got = await req('GET', cal + 'weekly.ics');
    assert.equal(await got.text(), weekly);
    assert.equal(got.headers.get('etag'), etag);
    assert.match(got.headers.get('content-type') ?? '', /^text\/calendar/);
    assert.equal((await putEvent(cal + 'weekly.ics', weekly, { 'If-None-Match': '*' })).status, 412);
    const changed = weekly.replace('SUMMARY:Weekly standup\r\n', 'SUMMARY:Weekly stand-up\r\n');
    const replaced = await putEvent(cal + 'weekly.ics', changed, { 'If-Match': etag });
    assert.equal(replaced.status, 204);
    assert.notEqual(replaced.headers.get('etag'), etag);
    assert.equal((await putEvent(cal + 'weekly.ics', weekly, { 'If-Match': etag })).status, 412);
    await putEvent(cal + 'weekly.ics', weekly);
  });

  test('concurrent PUTs as clients send them: If-None-Match: * creates once, If-Match replaces once, and the index follows the winner', async () => {
    const base = fixture('weekly.ics');
    const named = (summary: string) => base.replace(/^UID:.*$/gm, 'UID:contended-1').replace('SUMMARY:Weekly standup\r\n', `SUMMARY:${summary}\r\n`);
    const created = await Promise.all([0, 1, 2, 3].map((i) => putEvent(cal + 'contended.ics', named(`created ${i}`), { 'If-None-Match': '*' })));
    assert.deepEqual(created.map((a) => a.status).sort(), [201, 412, 412, 412]);
    const etag = created.find((a) => a.status === 201)!.headers.get('etag')!;
    const replaced = await Promise.all([0, 1, 2, 3].map((i) => putEvent(cal + 'contended.ics', named(`replaced ${i}`), { 'If-Match': etag })));
    assert.deepEqual(replaced.map((a) => a.status).sort(), [204, 412, 412, 412]);
    const winner = replaced.findIndex((a) => a.status === 204);
    const got = await req('GET', cal + 'contended.ics');
    assert.equal(await got.text(), named(`replaced ${winner}`));
    assert.equal(got.headers.get('etag'), replaced[winner]!.headers.get('etag'));
    // The calendar's index holds the winner's text: a text-match on SUMMARY finds it alone.
    const query = await req('REPORT', cal, {
      headers: { Depth: '1', 'Content-Type': 'application/xml' },
      body: `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>
        <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match>replaced ${winner}</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
    });
    assert.equal(query.status, 207);
    assert.deepEqual([...(await query.text()).matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]), [cal + 'contended.ics']);
    assert.equal((await req('DELETE', cal + 'contended.ics')).status, 204);
  });

  test('refusals are RFC 4791 preconditions and store nothing', async () => {
    const cases: Array<[string, string, string]> = [
      ['garbage.ics', 'this is not iCalendar', 'valid-calendar-data'],
      ['method.ics', fixture('allday.ics').replace('VERSION:2.0\r\n', 'VERSION:2.0\r\nMETHOD:REQUEST\r\n'), 'valid-calendar-object-resource'],
      ['two-uids.ics', fixture('allday.ics').replace('END:VCALENDAR', fixture('floating.ics').split('BEGIN:VEVENT')[1]!.replace(/^/, 'BEGIN:VEVENT').replace('END:VCALENDAR\r\n', '') + 'END:VCALENDAR'), 'valid-calendar-object-resource'],
      ['journal.ics', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VJOURNAL\r\nUID:j1\r\nDTSTAMP:20260101T000000Z\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n', 'supported-calendar-component'],
      ['dup-uid.ics', fixture('weekly.ics'), 'no-uid-conflict'],
    ];
    for (const [name, body, condition] of cases) {
      const res = await putEvent(cal + name, body);
      assert.equal(res.status, 403, name);
      const text = await res.text();
      assert.match(text, new RegExp(`<${condition} xmlns="${C}"`), `${name}: ${text}`);
      assert.equal((await req('GET', cal + name)).status, 404, name);
    }
    const conflict = await (await putEvent(cal + 'dup-uid.ics', fixture('weekly.ics'))).text();
    assert.match(conflict, /<D:href>\/dav\/calendars\/alice\/personal\/weekly.ics<\/D:href>/);
  });

  test('calendar objects only go into calendars', async () => {
    assert.equal((await putEvent(home + 'loose.ics', fixture('allday.ics'))).status, 403);
  });
});

describe('calendar-query with recurrence and time zones (expectations worked out by hand)', () => {
  const cal = home + 'queries/';
  before(async () => {
    const tz = fixture('new-york-timezone.ics').replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const made = await req('MKCALENDAR', cal, { body: `<C:mkcalendar xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><C:calendar-timezone>${tz}</C:calendar-timezone></D:prop></D:set></C:mkcalendar>` });
    assert.equal(made.status, 201, await made.text());
    for (const name of ['weekly.ics', 'allday.ics', 'floating.ics', 'task-due.ics']) assert.equal((await putEvent(cal + name, fixture(name))).status, 201, name);
  });

  // Weekly at 10:00 Berlin (09:00Z in winter) from Mon 5 Jan 2026, 10 times; 19 Jan excluded;
  // the 26 Jan instance moved to Tue 27 Jan 15:00 Berlin (14:00Z–15:00Z).
  const weeklyCases: Array<[string, string, boolean]> = [
    ['20260105T000000Z', '20260106T000000Z', true],
    ['20260119T000000Z', '20260120T000000Z', false],
    ['20260126T000000Z', '20260127T000000Z', false],
    ['20260127T140000Z', '20260127T143000Z', true],
    ['20260309T000000Z', '20260310T000000Z', true],
    ['20260316T000000Z', '20260317T000000Z', false],
    ['20260112T090000Z', '20260112T100000Z', true],
    ['20260112T100000Z', '20260112T110000Z', false],
    ['20260112T080000Z', '20260112T090000Z', false],
  ];
  for (const [start, end, expected] of weeklyCases) {
    test(`weekly event ${expected ? 'matches' : 'does not match'} ${start}–${end}`, async () => {
      assert.equal((await matching(cal, query(eventsIn(start, end)))).includes('weekly.ics'), expected);
    });
  }

  test('an all-day event: not when it starts at the range end, nor when it ends at the range start', async () => {
    // 10 Feb 2026, a floating date resolved in the calendar's zone (New York, UTC−5): 05:00Z to 05:00Z next day.
    assert.equal((await matching(cal, query(eventsIn('20260209T000000Z', '20260210T050000Z')))).includes('allday.ics'), false);
    assert.equal((await matching(cal, query(eventsIn('20260210T120000Z', '20260210T130000Z')))).includes('allday.ics'), true);
    assert.equal((await matching(cal, query(eventsIn('20260211T050000Z', '20260212T000000Z')))).includes('allday.ics'), false);
  });

  test('a floating event is placed by the calendar time zone (New York: 09:00 is 14:00Z on 1 March)', async () => {
    assert.deepEqual(await matching(cal, query(eventsIn('20260301T140000Z', '20260301T143000Z'))), ['floating.ics']);
    assert.deepEqual(await matching(cal, query(eventsIn('20260301T090000Z', '20260301T100000Z'))), []);
    // The query's own CALDAV:timezone wins over the calendar's (§7.8): in UTC it is 09:00Z.
    const utc = `<C:timezone>BEGIN:VCALENDAR&#13;\nVERSION:2.0&#13;\nPRODID:x&#13;\nBEGIN:VTIMEZONE&#13;\nTZID:UTC&#13;\nBEGIN:STANDARD&#13;\nDTSTART:19700101T000000&#13;\nTZOFFSETFROM:+0000&#13;\nTZOFFSETTO:+0000&#13;\nEND:STANDARD&#13;\nEND:VTIMEZONE&#13;\nEND:VCALENDAR&#13;\n</C:timezone>`;
    assert.deepEqual(await matching(cal, query(eventsIn('20260301T090000Z', '20260301T093000Z'), utc)), ['floating.ics']);
  });

  test('a task with DUE only matches when start < DUE and end >= DUE (§9.9)', async () => {
    assert.deepEqual(await matching(cal, query(todosIn('20260315T000000Z', '20260315T120000Z'))), ['task-due.ics']);
    assert.deepEqual(await matching(cal, query(todosIn('20260315T120000Z', '20260316T000000Z'))), []);
  });

  test('comp-filter alone, text-match with collation and negate', async () => {
    const tasks = `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"/></C:comp-filter></C:filter>`;
    assert.deepEqual(await matching(cal, query(tasks)), ['task-due.ics']);
    const summary = (text: string, negate = false) =>
      `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="i;ascii-casemap"${negate ? ' negate-condition="yes"' : ''}>${text}</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter>`;
    assert.deepEqual(await matching(cal, query(summary('STANDUP'))), ['weekly.ics']);
    assert.deepEqual((await matching(cal, query(summary('standup', true)))).sort(), ['allday.ics', 'floating.ics']);
    const unknown = await req('REPORT', cal, { headers: { Depth: '1' }, body: query(summary('x').replace('i;ascii-casemap', 'x;nonsense')) });
    assert.equal(unknown.status, 403);
    assert.match(await unknown.text(), /supported-collation/);
  });

  test('param-filter and is-not-defined over the HTTP interface', async () => {
    const byTzid = (tzid: string) =>
      `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="DTSTART"><C:param-filter name="TZID"><C:text-match collation="i;octet">${tzid}</C:text-match></C:param-filter></C:prop-filter></C:comp-filter></C:comp-filter></C:filter>`;
    assert.deepEqual(await matching(cal, query(byTzid('Europe/Berlin'))), ['weekly.ics']);
    assert.deepEqual(await matching(cal, query(byTzid('europe/berlin'))), []);
    const noRrule = `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="RRULE"><C:is-not-defined/></C:prop-filter></C:comp-filter></C:comp-filter></C:filter>`;
    // weekly.ics matches too: its overridden instance is a VEVENT without RRULE, and a
    // comp-filter matches when any component of its type does (RFC 4791 §9.7.1).
    assert.deepEqual((await matching(cal, query(noRrule))).sort(), ['allday.ics', 'floating.ics', 'weekly.ics']);
    const noSummary = `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="DESCRIPTION"><C:is-not-defined/></C:prop-filter><C:prop-filter name="SUMMARY"><C:text-match>Holiday</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter>`;
    assert.deepEqual(await matching(cal, query(noSummary)), ['allday.ics']);
    const noTodo = `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:is-not-defined/></C:comp-filter></C:comp-filter></C:filter>`;
    assert.deepEqual((await matching(cal, query(noTodo))).sort(), ['allday.ics', 'floating.ics', 'weekly.ics']);
  });

  test('calendar-data with comp and prop selection returns only what was asked', async () => {
    const body = `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="${C}"><D:prop><C:calendar-data><C:comp name="VCALENDAR"><C:prop name="VERSION"/><C:comp name="VTODO"><C:prop name="UID"/><C:prop name="DUE"/></C:comp></C:comp></C:calendar-data></D:prop><D:href>${cal}task-due.ics</D:href></C:calendar-multiget>`;
    const text = await (await req('REPORT', cal, { body })).text();
    assert.match(text, /UID:task-due-1/);
    assert.match(text, /DUE:20260315T120000Z/);
    assert.doesNotMatch(text, /SUMMARY/);
    assert.doesNotMatch(text, /PRODID/);
  });

  test('calendar-data comes back as stored, or expanded to UTC instances', async () => {
    const body = `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><C:calendar-data/></D:prop>${eventsIn('20260105T000000Z', '20260106T000000Z')}</C:calendar-query>`;
    const text = await (await req('REPORT', cal, { headers: { Depth: '1' }, body })).text();
    assert.ok(text.includes('RRULE:FREQ=WEEKLY;COUNT=10&#13;\n'), text);
    const expanded = `<C:calendar-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><C:calendar-data><C:expand start="20260120T000000Z" end="20260128T000000Z"/></C:calendar-data></D:prop>${eventsIn('20260120T000000Z', '20260128T000000Z')}</C:calendar-query>`;
    const inst = await (await req('REPORT', cal, { headers: { Depth: '1' }, body: expanded })).text();
    assert.match(inst, /RECURRENCE-ID:20260126T090000Z/);
    assert.match(inst, /DTSTART:20260127T140000Z/);
    assert.doesNotMatch(inst, /RRULE/);
  });

  test('calendar-multiget returns the named objects and 404 for the missing', async () => {
    const body = `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>${cal}allday.ics</D:href><D:href>${cal}task-due.ics</D:href><D:href>${cal}missing.ics</D:href></C:calendar-multiget>`;
    const res = await req('REPORT', cal, { body });
    assert.equal(res.status, 207);
    const text = await res.text();
    assert.deepEqual(hrefs(text), [cal + 'allday.ics', cal + 'task-due.ics', cal + 'missing.ics']);
    assert.match(text, /File taxes/);
    assert.match(text, /missing.ics<\/D:href><D:status>HTTP\/1.1 404 Not Found/);
  });

  test('free-busy-query merges busy time in the range', async () => {
    const body = `<C:free-busy-query xmlns:C="${C}"><C:time-range start="20260105T000000Z" end="20260113T000000Z"/></C:free-busy-query>`;
    const res = await req('REPORT', cal, { headers: { Depth: '1' }, body });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /BEGIN:VFREEBUSY/);
    assert.match(text, /20260105T090000Z\/(20260105T100000Z|PT1H)/);
    assert.match(text, /20260112T090000Z\/(20260112T100000Z|PT1H)/);
  });

  test('an unbounded SECONDLY rule cannot stall a query', async () => {
    const runaway = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:runaway\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\nSUMMARY:runaway\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    const started = performance.now();
    assert.equal((await putEvent(cal + 'runaway.ics', runaway)).status, 201);
    await matching(cal, query(eventsIn('20990101T000000Z', '20990102T000000Z')));
    assert.ok(performance.now() - started < 5000, 'bounded');
    await req('DELETE', cal + 'runaway.ics');
  });
});

describe('COPY and MOVE of calendar objects', () => {
  test('MOVE between calendars keeps queries right; COPY beside itself is a UID conflict; outside calendars is refused', async () => {
    await req('MKCALENDAR', home + 'other/');
    await putEvent(home + 'personal/move-me.ics', fixture('allday.ics').replace('UID:all-day-1', 'UID:move-me'));
    assert.equal((await req('COPY', home + 'personal/move-me.ics', { headers: { Destination: home + 'personal/copy.ics' } })).status, 403);
    assert.equal((await req('MOVE', home + 'personal/move-me.ics', { headers: { Destination: home + 'other/moved.ics' } })).status, 201);
    assert.deepEqual(await matching(home + 'other/', query(eventsIn('20260210T000000Z', '20260211T000000Z'))), ['moved.ics']);
    assert.ok(!(await matching(home + 'personal/', query(eventsIn('20260210T000000Z', '20260211T000000Z')))).includes('move-me.ics'));
    assert.equal((await req('MOVE', home + 'other/moved.ics', { headers: { Destination: home + 'moved.ics' } })).status, 403);
    assert.equal((await req('COPY', home + 'other/', { headers: { Destination: home + 'other2/' } })).status, 403);
  });
});

/** Counts the statements `work` sends through the server's db.query (not those of db.pipelined). */
async function countQueries(work: () => Promise<void>): Promise<number> {
  const db = server.deps.db;
  const query = db.query.bind(db);
  let statements = 0;
  db.query = ((sql: string, params?: readonly unknown[]) => {
    statements++;
    return query(sql, params);
  }) as typeof db.query;
  try {
    await work();
  } finally {
    db.query = query;
  }
  return statements;
}

describe('reading one object', () => {
  test('a GET or HEAD of a calendar object or a vCard takes one statement: the path and the text together', async () => {
    // UIDs of their own: the fixtures' are taken by earlier tests in the same collections.
    const event = fixture('weekly.ics').replace(/^UID:.*$/gm, 'UID:one-statement-event');
    const card = fs.readFileSync(new URL('./fixtures/carddav/davx5-zoe.vcf', import.meta.url), 'utf8').replace(/^UID:.*$/m, 'UID:one-statement-card');
    assert.equal((await putEvent(`${home}personal/one-statement.ics`, event)).status, 201);
    const put = await req('PUT', '/dav/addressbooks/alice/contacts/one-statement.vcf', { body: card, headers: { 'Content-Type': 'text/vcard; charset=utf-8' } });
    assert.equal(put.status, 201);
    for (const [path, body] of [[`${home}personal/one-statement.ics`, event], ['/dav/addressbooks/alice/contacts/one-statement.vcf', card]] as const) {
      for (const method of ['GET', 'HEAD']) {
        const statements = await countQueries(async () => {
          const res = await req(method, path);
          assert.equal(res.status, 200);
          assert.equal(await res.text(), method === 'GET' ? body : '');
          assert.equal(res.headers.get('Content-Length'), String(Buffer.byteLength(body)));
        });
        assert.equal(statements, 1, `${method} ${path}`);
      }
    }
  });

  test("a PUT into a calendar reads the calendar's settings with the path, and still follows them", async () => {
    const tasks = `${home}tasks-only-settings/`;
    const mk = await req('MKCALENDAR', tasks, {
      body: `<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`,
    });
    assert.equal(mk.status, 201);
    let status = 0;
    // The walk, then the write (one pipelined transaction): no statement of its own for the settings.
    const statements = await countQueries(async () => {
      status = (await putEvent(`${tasks}task.ics`, fixture('task-due.ics').replace(/^UID:.*$/gm, 'UID:settings-task'))).status;
    });
    assert.equal(status, 201);
    assert.equal(statements, 1);
    const refused = await putEvent(`${tasks}event.ics`, fixture('weekly.ics').replace(/^UID:.*$/gm, 'UID:settings-event'));
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /supported-calendar-component/);
  });
});
