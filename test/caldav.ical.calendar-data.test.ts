import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { CalendarDataRequestError, parseCalendarDataRequest, renderCalendarData, type CalendarDataRequest } from '../src/dav/caldav/ical/calendar-data.js';
import { parseXml } from '../src/dav/xml/parse.js';

// Expected output is written by hand from the fixture data.

const C = 'urn:ietf:params:xml:ns:caldav';
const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/ical/${name}`, import.meta.url), 'utf8');
const request = (inner: string, attrs = '') => parseCalendarDataRequest(parseXml(`<C:calendar-data xmlns:C="${C}"${attrs}>${inner}</C:calendar-data>`));

/** The components of an iCalendar text as arrays of their own lines (sub-components kept inline). */
function components(text: string, name: string): string[][] {
  const out: string[][] = [];
  let current: string[] | null = null;
  for (const line of text.split('\r\n')) {
    if (line === `BEGIN:${name}`) current = [];
    else if (line === `END:${name}` && current) {
      out.push(current);
      current = null;
    } else if (current) current.push(line);
  }
  return out;
}

const value = (lines: string[], name: string) => lines.find((l) => l.startsWith(`${name}:`) || l.startsWith(`${name};`));

test('no selection: the stored text, byte for byte', () => {
  for (const name of fs.readdirSync(new URL('./fixtures/ical/', import.meta.url))) {
    const text = fixture(name);
    assert.equal(renderCalendarData(text, {}, {}), text, name);
    assert.equal(renderCalendarData(text, parseCalendarDataRequest(parseXml(`<C:calendar-data xmlns:C="${C}"/>`)), {}), text, name);
  }
});

test('parses comp/prop selection, novalue and the range elements', () => {
  const parsed = request(`
    <C:comp name="VCALENDAR">
      <C:prop name="VERSION"/>
      <C:comp name="VEVENT">
        <C:prop name="SUMMARY"/>
        <C:prop name="DTSTART" novalue="yes"/>
        <C:allcomp/>
      </C:comp>
      <C:comp name="VTIMEZONE"/>
    </C:comp>
    <C:expand start="20240201T000000Z" end="20240302T000000Z"/>
    <C:limit-freebusy-set start="20240201T000000Z" end="20240202T000000Z"/>`);
  assert.deepEqual(parsed, {
    comp: {
      name: 'VCALENDAR',
      allProps: false,
      props: [{ name: 'VERSION', noValue: false }],
      allComps: false,
      comps: [
        {
          name: 'VEVENT',
          allProps: false,
          props: [
            { name: 'SUMMARY', noValue: false },
            { name: 'DTSTART', noValue: true },
          ],
          allComps: true,
          comps: [],
        },
        { name: 'VTIMEZONE', allProps: true, props: [], allComps: true, comps: [] },
      ],
    },
    expand: { start: new Date('2024-02-01T00:00:00Z'), end: new Date('2024-03-02T00:00:00Z') },
    limitFreebusySet: { start: new Date('2024-02-01T00:00:00Z'), end: new Date('2024-02-02T00:00:00Z') },
  } satisfies CalendarDataRequest);
});

test('requests the server cannot serve are refused', () => {
  const refused = (inner: string, condition: string | undefined, attrs = '') =>
    assert.throws(
      () => request(inner, attrs),
      (e: unknown) => e instanceof CalendarDataRequestError && e.condition === condition,
    );
  refused('', 'supported-calendar-data', ' content-type="application/calendar+json"');
  refused('', 'supported-calendar-data', ' version="1.0"');
  assert.doesNotThrow(() => request('', ' content-type="text/calendar" version="2.0"'));
  refused('<C:expand start="20240201T000000Z"/>', undefined);
  refused('<C:expand start="20240201" end="20240301"/>', undefined);
  refused('<C:limit-recurrence-set start="20240301T000000Z" end="20240201T000000Z"/>', undefined);
  refused('<C:expand start="20240201T000000Z" end="20240301T000000Z"/><C:limit-recurrence-set start="20240201T000000Z" end="20240301T000000Z"/>', undefined);
  refused('<C:comp name="VEVENT"/>', undefined);
});

test('expand: each instance in the range on its own, in UTC, with RECURRENCE-ID (§9.6.5)', () => {
  // 1 Feb – 2 Mar 2024: the Mondays 12, 19, 26 Feb (5 Feb moved away) and the moved
  // instance itself on Fri 1 Mar 13:00-14:00Z. All 10:00 Europe/Berlin = 09:00Z.
  const out = renderCalendarData(fixture('ios-weekly-exdate-override.ics'), request('<C:expand start="20240201T000000Z" end="20240302T000000Z"/>'), {});
  assert.ok(!out.includes('VTIMEZONE'));
  assert.ok(!/^(RRULE|EXDATE|RDATE)/m.test(out));
  assert.ok(!out.includes('TZID'));
  assert.ok(out.endsWith('END:VCALENDAR\r\n'));
  const events = components(out, 'VEVENT');
  assert.deepEqual(
    events.map((e) => [value(e, 'RECURRENCE-ID'), value(e, 'DTSTART'), value(e, 'DTEND'), value(e, 'SUMMARY')]),
    [
      ['RECURRENCE-ID:20240212T090000Z', 'DTSTART:20240212T090000Z', 'DTEND:20240212T100000Z', 'SUMMARY:Team sync'],
      ['RECURRENCE-ID:20240219T090000Z', 'DTSTART:20240219T090000Z', 'DTEND:20240219T100000Z', 'SUMMARY:Team sync'],
      ['RECURRENCE-ID:20240226T090000Z', 'DTSTART:20240226T090000Z', 'DTEND:20240226T100000Z', 'SUMMARY:Team sync'],
      ['RECURRENCE-ID:20240205T090000Z', 'DTSTART:20240301T130000Z', 'DTEND:20240301T140000Z', 'SUMMARY:Team sync (moved)'],
    ],
  );
  for (const e of events) assert.equal(value(e, 'UID'), 'UID:6B1E3C9A-4F1D-4E7B-9C55-1D2A7E0F3B21');
  // The master's alarm goes with its instances.
  assert.equal(components(out, 'VALARM').length, 3);
});

test('expand keeps all-day dates as dates and converts floating times with the calendar zone', () => {
  const daily = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:x',
    'BEGIN:VEVENT',
    'UID:d',
    'DTSTAMP:20240101T000000Z',
    'DTSTART;VALUE=DATE:20240101',
    'DTEND;VALUE=DATE:20240102',
    'RRULE:FREQ=DAILY;COUNT=3',
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:d',
    'DTSTAMP:20240101T000000Z',
    'RECURRENCE-ID;VALUE=DATE:20240103',
    'DTSTART:20240103T090000',
    'DTEND:20240103T100000',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  const expand = (start: string) => renderCalendarData(daily, request(`<C:expand start="${start}" end="20240110T000000Z"/>`), { defaultTimezone: 'Europe/Berlin' });
  // In Berlin, 1 Jan is [31 Dec 23:00Z, 1 Jan 23:00Z): in a range from 22:45Z, not in one from 23:00Z.
  assert.equal(components(expand('20240101T230000Z'), 'VEVENT').length, 2);
  const out = expand('20240101T224500Z');
  const events = components(out, 'VEVENT');
  assert.deepEqual(
    events.map((e) => [value(e, 'RECURRENCE-ID'), value(e, 'DTSTART'), value(e, 'DTEND')]),
    [
      ['RECURRENCE-ID;VALUE=DATE:20240101', 'DTSTART;VALUE=DATE:20240101', 'DTEND;VALUE=DATE:20240102'],
      ['RECURRENCE-ID;VALUE=DATE:20240102', 'DTSTART;VALUE=DATE:20240102', 'DTEND;VALUE=DATE:20240103'],
      ['RECURRENCE-ID;VALUE=DATE:20240103', 'DTSTART:20240103T080000Z', 'DTEND:20240103T090000Z'],
    ],
  );
});

test('expand of a non-recurring object outside the range returns an empty calendar', () => {
  const out = renderCalendarData(fixture('floating-event.ics'), request('<C:expand start="20250101T000000Z" end="20250201T000000Z"/>'), {});
  assert.equal(components(out, 'VEVENT').length, 0);
  assert.ok(out.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\n'));
});

test('limit-recurrence-set: the master and the overrides that touch the range (§9.6.6)', () => {
  const text = fixture('ios-weekly-exdate-override.ics');
  const january = renderCalendarData(text, request('<C:limit-recurrence-set start="20240101T000000Z" end="20240201T000000Z"/>'), {});
  const events = components(january, 'VEVENT');
  assert.equal(events.length, 1);
  assert.ok(value(events[0]!, 'RRULE'));
  assert.ok(january.includes('BEGIN:VTIMEZONE'));
  // Either end of the move keeps the override: its new time (1 Mar) or the instance it replaces (5 Feb).
  for (const [start, end] of [
    ['20240301T000000Z', '20240302T000000Z'],
    ['20240205T000000Z', '20240206T000000Z'],
  ]) {
    assert.equal(renderCalendarData(text, request(`<C:limit-recurrence-set start="${start}" end="${end}"/>`), {}), text, 'nothing removed: bytes unchanged');
  }
});

test('comp and prop selection as in RFC 4791 §7.8.1', () => {
  const out = renderCalendarData(
    fixture('ios-weekly-exdate-override.ics'),
    request(`<C:comp name="VCALENDAR">
      <C:prop name="VERSION"/>
      <C:comp name="VEVENT"><C:prop name="SUMMARY"/><C:prop name="UID"/><C:prop name="DTSTART" novalue="yes"/></C:comp>
      <C:comp name="VTIMEZONE"/>
    </C:comp>`),
    {},
  );
  assert.equal(
    out,
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'BEGIN:VTIMEZONE',
      'TZID:Europe/Berlin',
      'BEGIN:DAYLIGHT',
      'TZOFFSETFROM:+0100',
      'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
      'DTSTART:19810329T020000',
      'TZNAME:CEST',
      'TZOFFSETTO:+0200',
      'END:DAYLIGHT',
      'BEGIN:STANDARD',
      'TZOFFSETFROM:+0200',
      'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
      'DTSTART:19961027T030000',
      'TZNAME:CET',
      'TZOFFSETTO:+0100',
      'END:STANDARD',
      'END:VTIMEZONE',
      'BEGIN:VEVENT',
      'UID:6B1E3C9A-4F1D-4E7B-9C55-1D2A7E0F3B21',
      'SUMMARY:Team sync',
      'DTSTART;TZID=Europe/Berlin:',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:6B1E3C9A-4F1D-4E7B-9C55-1D2A7E0F3B21',
      'SUMMARY:Team sync (moved)',
      'DTSTART;TZID=Europe/Berlin:',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n'),
  );
});

test('limit-freebusy-set keeps only the periods that overlap (§9.6.7)', () => {
  const text = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:x',
    'BEGIN:VFREEBUSY',
    'UID:fb',
    'DTSTAMP:20240101T000000Z',
    'FREEBUSY:20240603T080000Z/PT1H,20240603T120000Z/PT1H',
    'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240604T080000Z/PT1H',
    'END:VFREEBUSY',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  const out = renderCalendarData(text, request('<C:limit-freebusy-set start="20240603T110000Z" end="20240603T130000Z"/>'), {});
  assert.deepEqual(
    components(out, 'VFREEBUSY')[0]!.filter((l) => l.startsWith('FREEBUSY')),
    ['FREEBUSY:20240603T120000Z/PT1H'],
  );
});
