import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { freeBusy } from '../src/dav/caldav/ical/freebusy.js';

// The expected periods are worked out by hand from the events below.

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/ical/${name}`, import.meta.url), 'utf8');

function event(uid: string, lines: string): string {
  return `BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:${uid}\nDTSTAMP:20240101T000000Z\n${lines.trim()}\nEND:VEVENT\nEND:VCALENDAR\n`.replace(/\n/g, '\r\n');
}

const range = { start: new Date('2024-06-03T00:00:00Z'), end: new Date('2024-06-04T00:00:00Z') };

const objects = [
  event('a', 'DTSTART:20240603T090000Z\nDTEND:20240603T100000Z'), // busy
  event('b', 'DTSTART:20240603T093000Z\nDURATION:PT90M'), // busy, overlaps a: 09:00-11:00
  event('j', 'DTSTART:20240603T110000Z\nDTEND:20240603T120000Z'), // busy, touches b: 09:00-12:00
  event('c', 'DTSTART:20240603T130000Z\nDTEND:20240603T140000Z\nSTATUS:TENTATIVE'),
  event('d', 'DTSTART:20240603T150000Z\nDTEND:20240603T160000Z\nTRANSP:TRANSPARENT'), // free
  event('e', 'DTSTART:20240603T160000Z\nDTEND:20240603T170000Z\nSTATUS:CANCELLED'), // free
  event('g', 'DTSTART:20240601T070000Z\nDTEND:20240601T073000Z\nRRULE:FREQ=DAILY;COUNT=5'), // 3 Jun 07:00-07:30
  event('h', 'DTSTART:20240602T230000Z\nDTEND:20240603T010000Z'), // clipped to 00:00-01:00
  event('i', 'DTSTART;VALUE=DATE:20240604'), // starts at the range end: outside
  event('z', 'DTSTART:20240603T200000Z'), // no length: no busy time
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:x',
    'BEGIN:VFREEBUSY',
    'UID:f',
    'DTSTAMP:20240101T000000Z',
    'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240603T170000Z/20240603T180000Z',
    'FREEBUSY;FBTYPE=FREE:20240603T180000Z/PT1H',
    'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240603T173000Z/PT1H',
    'END:VFREEBUSY',
    'END:VCALENDAR',
    '',
  ].join('\r\n'),
];

test('one VFREEBUSY over the range, periods merged per FBTYPE (RFC 4791 §7.10)', () => {
  const out = freeBusy(objects, range, { now: new Date('2024-06-01T12:00:00Z') });
  const lines = out.split('\r\n');
  assert.deepEqual(lines.slice(0, 5), ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Davenport//CalDAV Server//EN', 'CALSCALE:GREGORIAN', 'BEGIN:VFREEBUSY']);
  assert.ok(lines.includes('DTSTAMP:20240601T120000Z'));
  assert.ok(lines.includes('DTSTART:20240603T000000Z'));
  assert.ok(lines.includes('DTEND:20240604T000000Z'));
  assert.ok(lines.some((l) => /^UID:.+/.test(l)));
  assert.deepEqual(
    lines.filter((l) => l.startsWith('FREEBUSY')),
    [
      'FREEBUSY:20240603T000000Z/20240603T010000Z',
      'FREEBUSY:20240603T070000Z/20240603T073000Z',
      'FREEBUSY:20240603T090000Z/20240603T120000Z',
      'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240603T130000Z/20240603T140000Z',
      'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240603T170000Z/20240603T183000Z',
    ],
  );
  assert.ok(out.endsWith('END:VFREEBUSY\r\nEND:VCALENDAR\r\n'));
});

test('no busy time: a VFREEBUSY without FREEBUSY properties', () => {
  const out = freeBusy([fixture('thunderbird-all-day.ics'), 'garbage'], range, {});
  assert.ok(out.includes('BEGIN:VFREEBUSY'));
  assert.ok(!out.includes('FREEBUSY:') && !out.includes('FREEBUSY;'));
});

test('recurring events with overrides and floating times in the calendar zone', () => {
  // Mondays 09:00-10:00Z; week of 26 Feb – 4 Mar holds 26 Feb, the moved Fri 1 Mar 13:00-14:00Z and 4 Mar.
  const week = { start: new Date('2024-02-26T00:00:00Z'), end: new Date('2024-03-05T00:00:00Z') };
  const out = freeBusy([fixture('ios-weekly-exdate-override.ics')], week, {});
  assert.deepEqual(
    out.split('\r\n').filter((l) => l.startsWith('FREEBUSY')),
    ['FREEBUSY:20240226T090000Z/20240226T100000Z', 'FREEBUSY:20240301T130000Z/20240301T140000Z', 'FREEBUSY:20240304T090000Z/20240304T100000Z'],
  );
  // 10 Jun 09:00-10:00 floating is 13:00-14:00Z in New York (EDT).
  const june = { start: new Date('2024-06-10T00:00:00Z'), end: new Date('2024-06-11T00:00:00Z') };
  const floating = freeBusy([fixture('floating-event.ics')], june, { defaultTimezone: 'America/New_York' });
  assert.ok(floating.includes('\r\nFREEBUSY:20240610T130000Z/20240610T140000Z\r\n'));
});
