import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { CalendarDataError, parseCalendarObject, type ComponentType } from '../src/dav/caldav/ical/object.js';

// Expectations below are worked out by hand from the fixtures, not by running the code.

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/ical/${name}`, import.meta.url), 'utf8');
const ALL: ComponentType[] = ['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY'];
const iso = (d: Date | null) => d?.toISOString() ?? null;

/** A VCALENDAR around `body`, CRLF as clients send it. */
function cal(body: string, head = 'VERSION:2.0\nPRODID:-//Test//EN'): string {
  return `BEGIN:VCALENDAR\n${head}\n${body.trim()}\nEND:VCALENDAR\n`.replace(/\n/g, '\r\n');
}

function event(lines: string, uid = 'u1'): string {
  return `BEGIN:VEVENT\nUID:${uid}\nDTSTAMP:20240101T000000Z\n${lines.trim()}\nEND:VEVENT`;
}

function refused(text: string, condition: string, supported: ComponentType[] = ALL): void {
  assert.throws(
    () => parseCalendarObject(text, { supportedComponents: supported }),
    (error: unknown) => error instanceof CalendarDataError && error.condition === condition,
    `expected ${condition}`,
  );
}

test('iOS weekly event: EXDATE and a moved instance bound the index', () => {
  // Mondays 10:00-11:00 Europe/Berlin (CET, UTC+1) from 8 Jan to 25 Mar 2024; 5 Feb moved to 1 Mar.
  const info = parseCalendarObject(fixture('ios-weekly-exdate-override.ics'), { supportedComponents: ['VEVENT'] });
  assert.deepEqual(
    { ...info, firstStart: iso(info.firstStart), lastEnd: iso(info.lastEnd) },
    {
      uid: '6B1E3C9A-4F1D-4E7B-9C55-1D2A7E0F3B21',
      componentType: 'VEVENT',
      firstStart: '2024-01-08T09:00:00.000Z',
      lastEnd: '2024-03-25T10:00:00.000Z',
      recurring: true,
    },
  );
});

test('an all-day event is one day in the calendar time zone, else in UTC', () => {
  const text = fixture('thunderbird-all-day.ics');
  const utc = parseCalendarObject(text, { supportedComponents: ALL });
  assert.equal(iso(utc.firstStart), '2024-03-15T00:00:00.000Z');
  assert.equal(iso(utc.lastEnd), '2024-03-16T00:00:00.000Z');
  const berlin = parseCalendarObject(text, { supportedComponents: ALL, defaultTimezone: 'Europe/Berlin' });
  assert.equal(iso(berlin.firstStart), '2024-03-14T23:00:00.000Z');
  assert.equal(iso(berlin.lastEnd), '2024-03-15T23:00:00.000Z');
  assert.equal(berlin.recurring, false);
});

test('a floating event is read in the default time zone (IANA id or VTIMEZONE text)', () => {
  const text = fixture('floating-event.ics');
  assert.equal(iso(parseCalendarObject(text, { supportedComponents: ALL }).firstStart), '2024-06-10T09:00:00.000Z');
  // New York is on EDT (UTC-4) in June.
  const ny = parseCalendarObject(text, { supportedComponents: ALL, defaultTimezone: 'America/New_York' });
  assert.equal(iso(ny.firstStart), '2024-06-10T13:00:00.000Z');
  assert.equal(iso(ny.lastEnd), '2024-06-10T14:00:00.000Z');
  const tokyo = cal('BEGIN:VTIMEZONE\nTZID:Asia/Tokyo\nBEGIN:STANDARD\nTZOFFSETFROM:+0900\nTZOFFSETTO:+0900\nTZNAME:JST\nDTSTART:19700101T000000\nEND:STANDARD\nEND:VTIMEZONE');
  assert.equal(iso(parseCalendarObject(text, { supportedComponents: ALL, defaultTimezone: tokyo }).firstStart), '2024-06-10T00:00:00.000Z');
});

test('a task with DUE only is indexed at its due time', () => {
  // DUE 20 Apr 2024 17:00 Europe/Berlin, CEST (UTC+2).
  const info = parseCalendarObject(fixture('davx5-task-due.ics'), { supportedComponents: ['VTODO'] });
  assert.equal(info.componentType, 'VTODO');
  assert.equal(iso(info.firstStart), '2024-04-20T15:00:00.000Z');
  assert.equal(iso(info.lastEnd), '2024-04-20T15:00:00.000Z');
});

test('a task with neither DTSTART nor DUE has no bounds (it matches every range)', () => {
  const info = parseCalendarObject(fixture('task-undated.ics'), { supportedComponents: ['VTODO'] });
  assert.equal(info.firstStart, null);
  assert.equal(info.lastEnd, null);
});

test('a task with only CREATED is bounded below only (RFC 4791 §9.9: end > CREATED)', () => {
  const info = parseCalendarObject(cal('BEGIN:VTODO\nUID:t\nDTSTAMP:20240101T000000Z\nCREATED:20240110T000000Z\nEND:VTODO'), { supportedComponents: ALL });
  assert.equal(iso(info.firstStart), '2024-01-10T00:00:00.000Z');
  assert.equal(info.lastEnd, null);
});

test('an open-ended rule has no lastEnd; COUNT and UNTIL give the real last end', () => {
  const daily = (rule: string) => parseCalendarObject(cal(event(`DTSTART:20240101T080000Z\nDTEND:20240101T090000Z\nRRULE:${rule}`)), { supportedComponents: ALL });
  const open = daily('FREQ=DAILY');
  assert.equal(iso(open.firstStart), '2024-01-01T08:00:00.000Z');
  assert.equal(open.lastEnd, null);
  assert.equal(open.recurring, true);
  // 1, 2, 3 Jan: the third ends 3 Jan 09:00.
  assert.equal(iso(daily('FREQ=DAILY;COUNT=3').lastEnd), '2024-01-03T09:00:00.000Z');
  assert.equal(iso(daily('FREQ=WEEKLY;UNTIL=20240115T080000Z').lastEnd), '2024-01-15T09:00:00.000Z');
  // More instances than the index looks at (daily for 40 years): treated as open-ended.
  assert.equal(daily('FREQ=DAILY;COUNT=15000').lastEnd, null);
});

test('RDATE adds instances and an excluded DTSTART is no instance', () => {
  const info = parseCalendarObject(
    cal(event('DTSTART:20240301T100000Z\nDURATION:PT1H\nRDATE:20240201T100000Z,20240401T100000Z\nEXDATE:20240301T100000Z')),
    { supportedComponents: ALL },
  );
  assert.equal(iso(info.firstStart), '2024-02-01T10:00:00.000Z');
  assert.equal(iso(info.lastEnd), '2024-04-01T11:00:00.000Z');
  assert.equal(info.recurring, true);
});

test('an event without end lasts 0 seconds, an all-day one without end 1 day (§9.9)', () => {
  const timed = parseCalendarObject(cal(event('DTSTART:20240501T100000Z')), { supportedComponents: ALL });
  assert.equal(iso(timed.lastEnd), '2024-05-01T10:00:00.000Z');
  const allDay = parseCalendarObject(cal(event('DTSTART;VALUE=DATE:20240501')), { supportedComponents: ALL });
  assert.equal(iso(allDay.lastEnd), '2024-05-02T00:00:00.000Z');
});

test('VFREEBUSY is bounded by its DTSTART/DTEND, else by its periods', () => {
  const fb = (lines: string) =>
    parseCalendarObject(cal(`BEGIN:VFREEBUSY\nUID:f\nDTSTAMP:20240101T000000Z\n${lines}\nEND:VFREEBUSY`), { supportedComponents: ALL });
  const both = fb('DTSTART:20240601T000000Z\nDTEND:20240608T000000Z\nFREEBUSY:20240603T100000Z/PT1H');
  assert.deepEqual([iso(both.firstStart), iso(both.lastEnd)], ['2024-06-01T00:00:00.000Z', '2024-06-08T00:00:00.000Z']);
  const periods = fb('FREEBUSY:20240603T100000Z/PT1H,20240605T100000Z/20240605T120000Z');
  assert.deepEqual([iso(periods.firstStart), iso(periods.lastEnd)], ['2024-06-03T10:00:00.000Z', '2024-06-05T12:00:00.000Z']);
});

// Time zones named without a VTIMEZONE.

test('a bare IANA TZID is resolved from the bundled database, DST included', () => {
  const at = (tzid: string, local: string) =>
    iso(parseCalendarObject(cal(event(`DTSTART;TZID=${tzid}:${local}`)), { supportedComponents: ALL }).firstStart);
  assert.equal(at('America/New_York', '20240115T090000'), '2024-01-15T14:00:00.000Z'); // EST
  assert.equal(at('Europe/Berlin', '20240715T090000'), '2024-07-15T07:00:00.000Z'); // CEST
  assert.equal(at('Asia/Kolkata', '20240115T090000'), '2024-01-15T03:30:00.000Z');
  // Some Microsoft clients leave a trailing space; old Lightning prefixes ids.
  assert.equal(at('"Europe/Berlin "', '20240115T090000'), '2024-01-15T08:00:00.000Z');
  assert.equal(at('/mozilla.org/20050126_1/Europe/Berlin', '20240115T090000'), '2024-01-15T08:00:00.000Z');
  assert.equal(at('"Eastern Standard Time"', '20240115T090000'), '2024-01-15T14:00:00.000Z');
});

test('Outlook-style Windows zone name without VTIMEZONE', () => {
  // 12 Jun 2024 14:00 "W. Europe Standard Time" = Europe/Berlin, CEST.
  const info = parseCalendarObject(fixture('outlook-windows-tzid.ics'), { supportedComponents: ['VEVENT'] });
  assert.equal(iso(info.firstStart), '2024-06-12T12:00:00.000Z');
  assert.equal(iso(info.lastEnd), '2024-06-12T13:00:00.000Z');
});

test('an unknown TZID without VTIMEZONE is floating: read in the default zone', () => {
  const text = cal(event('DTSTART;TZID=Mars/Olympus_Mons:20240115T090000'));
  assert.equal(iso(parseCalendarObject(text, { supportedComponents: ALL }).firstStart), '2024-01-15T09:00:00.000Z');
  assert.equal(iso(parseCalendarObject(text, { supportedComponents: ALL, defaultTimezone: 'Asia/Tokyo' }).firstStart), '2024-01-15T00:00:00.000Z');
});

test("the object's own VTIMEZONE wins over the bundled one", () => {
  const text = cal(
    'BEGIN:VTIMEZONE\nTZID:Europe/Berlin\nBEGIN:STANDARD\nTZOFFSETFROM:+0300\nTZOFFSETTO:+0300\nDTSTART:19700101T000000\nEND:STANDARD\nEND:VTIMEZONE\n' +
      event('DTSTART;TZID=Europe/Berlin:20240115T090000'),
  );
  assert.equal(iso(parseCalendarObject(text, { supportedComponents: ALL }).firstStart), '2024-01-15T06:00:00.000Z');
});

// Refusals (RFC 4791 §5.3.2.1).

test('not iCalendar, or not exactly one VCALENDAR: valid-calendar-data', () => {
  refused('garbage', 'valid-calendar-data');
  refused('', 'valid-calendar-data');
  refused('BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n', 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T100000Z')) + cal(event('DTSTART:20240101T100000Z')), 'valid-calendar-data');
  refused('BEGIN:VCARD\r\nVERSION:4.0\r\nFN:X\r\nEND:VCARD\r\n', 'valid-calendar-data');
});

test('VERSION:2.0 is required, PRODID is not', () => {
  refused(cal(event('DTSTART:20240101T100000Z'), 'PRODID:-//Test//EN'), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T100000Z'), 'VERSION:1.0\nPRODID:x'), 'valid-calendar-data');
  assert.equal(parseCalendarObject(cal(event('DTSTART:20240101T100000Z'), 'VERSION:2.0'), { supportedComponents: ALL }).uid, 'u1');
});

test('METHOD, mixed types, missing or differing UIDs: valid-calendar-object-resource', () => {
  refused(cal(event('DTSTART:20240101T100000Z'), 'VERSION:2.0\nPRODID:x\nMETHOD:REQUEST'), 'valid-calendar-object-resource');
  refused(cal(event('DTSTART:20240101T100000Z') + '\nBEGIN:VTODO\nUID:u1\nDTSTAMP:20240101T000000Z\nEND:VTODO'), 'valid-calendar-object-resource');
  refused(cal(event('DTSTART:20240101T100000Z', 'a') + '\n' + event('DTSTART:20240102T100000Z', 'b')), 'valid-calendar-object-resource');
  refused(cal('BEGIN:VEVENT\nDTSTAMP:20240101T000000Z\nDTSTART:20240101T100000Z\nEND:VEVENT'), 'valid-calendar-object-resource');
  refused(cal(event('DTSTART:20240101T100000Z') + '\n' + event('DTSTART:20240102T100000Z')), 'valid-calendar-object-resource');
  refused(
    cal(event('DTSTART:20240101T100000Z\nRRULE:FREQ=DAILY') + '\n' + event('RECURRENCE-ID:20240102T100000Z\nDTSTART:20240102T110000Z') + '\n' + event('RECURRENCE-ID:20240102T100000Z\nDTSTART:20240102T120000Z')),
    'valid-calendar-object-resource',
  );
  refused(cal('BEGIN:VTIMEZONE\nTZID:X\nBEGIN:STANDARD\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nDTSTART:19700101T000000\nEND:STANDARD\nEND:VTIMEZONE'), 'valid-calendar-object-resource');
});

test('a component type the calendar does not take: supported-calendar-component', () => {
  refused(fixture('davx5-task-due.ics'), 'supported-calendar-component', ['VEVENT']);
  refused(fixture('thunderbird-all-day.ics'), 'supported-calendar-component', ['VTODO']);
  refused(cal('BEGIN:VAVAILABILITY\nUID:a\nDTSTAMP:20240101T000000Z\nEND:VAVAILABILITY'), 'supported-calendar-component');
});

test('values ical.js lets through: valid-calendar-data', () => {
  refused(cal(event('DTSTART:notadate')), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240230T100000Z')), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T250000Z')), 'valid-calendar-data');
  refused(cal(event('DTSTART;VALUE=DATE:2024')), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T100000Z\nDURATION:PXYZ')), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T100000Z\nRRULE:FREQ=FOO')), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T100000Z\nRRULE:COUNT=3')), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T100000Z\nRRULE:FREQ=DAILY;BYHOUR=25')), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T100000Z\nRRULE:FREQ=WEEKLY;BYMONTHDAY=3')), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T100000Z\nDTEND:20240101T090000Z')), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T100000Z\nDTEND:20240101T110000Z\nDURATION:PT1H')), 'valid-calendar-data');
  refused(cal(event('SUMMARY:no start')), 'valid-calendar-data');
  refused(cal(event('DTSTART:20240101T100000Z\nRDATE;VALUE=PERIOD:20240105T100000Z/garbage')), 'valid-calendar-data');
});

test('every client fixture is accepted', () => {
  for (const name of fs.readdirSync(new URL('./fixtures/ical/', import.meta.url))) {
    assert.doesNotThrow(() => parseCalendarObject(fixture(name), { supportedComponents: ALL }), name);
  }
});
