import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import ICAL from 'ical.js';
import { loadCalendar, mainComponents } from '../src/dav/caldav/ical/load.js';
import { expandInstances, recurrenceSets, type RecurrenceSet } from '../src/dav/caldav/ical/recurrence.js';
import { resolveDefaultTimezone } from '../src/dav/caldav/ical/timezones.js';

// Expected instants are worked out by hand from the data.

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/ical/${name}`, import.meta.url), 'utf8');

function setOf(text: string): RecurrenceSet {
  const [set] = recurrenceSets(mainComponents(loadCalendar(text)));
  assert.ok(set);
  return set;
}

function event(lines: string): string {
  return `BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:r\nDTSTAMP:20240101T000000Z\n${lines.trim()}\nEND:VEVENT\nEND:VCALENDAR\n`.replace(/\n/g, '\r\n');
}

const starts = (set: RecurrenceSet, range = {}, max = 1000) =>
  expandInstances(set, range, { maxInstances: max }).occurrences.map((o) => (o.startMs === null ? null : new Date(o.startMs).toISOString().slice(0, 16)));

test('weekly rule with EXDATE and a moved instance', () => {
  const set = setOf(fixture('ios-weekly-exdate-override.ics'));
  // Mondays 09:00Z (10:00 CET) from 8 Jan to 25 Mar; 22 Jan excluded; 5 Feb moved to Fri 1 Mar 13:00Z.
  assert.deepEqual(starts(set), [
    '2024-01-08T09:00',
    '2024-01-15T09:00',
    '2024-01-29T09:00',
    '2024-02-12T09:00',
    '2024-02-19T09:00',
    '2024-02-26T09:00',
    '2024-03-01T13:00',
    '2024-03-04T09:00',
    '2024-03-11T09:00',
    '2024-03-18T09:00',
    '2024-03-25T09:00',
  ]);
  const moved = expandInstances(set, {}, { maxInstances: 100 }).occurrences.find((o) => o.overridden);
  assert.equal(moved?.component.getFirstPropertyValue('summary'), 'Team sync (moved)');
  assert.equal(moved?.recurrenceId?.toString(), '2024-02-05T10:00:00');
});

test('a range keeps the instances near it (and the overrides)', () => {
  const set = setOf(fixture('ios-weekly-exdate-override.ics'));
  const inFebruary = starts(set, { start: new Date('2024-02-14T00:00:00Z'), end: new Date('2024-02-20T00:00:00Z') });
  // 12 Feb lies within the look-back (the longest span plus two days), 19 Feb in the range.
  assert.ok(inFebruary.includes('2024-02-19T09:00'));
  assert.ok(inFebruary.includes('2024-03-01T13:00'), 'overrides always come back');
  assert.ok(!inFebruary.includes('2024-01-08T09:00'));
  assert.ok(!inFebruary.includes('2024-02-26T09:00'));
});

test('RDATE values, including periods, join the rule; DATE EXDATE removes a whole day', () => {
  const set = setOf(
    event(`DTSTART:20240101T100000Z
DTEND:20240101T110000Z
RRULE:FREQ=DAILY;COUNT=3
RDATE;VALUE=PERIOD:20240110T080000Z/PT3H
RDATE:20240105T100000Z
EXDATE;VALUE=DATE:20240102`),
  );
  const occurrences = expandInstances(set, {}, { maxInstances: 100 }).occurrences;
  assert.deepEqual(
    occurrences.map((o) => new Date(o.startMs!).toISOString().slice(0, 16)),
    ['2024-01-01T10:00', '2024-01-03T10:00', '2024-01-05T10:00', '2024-01-10T08:00'],
  );
  assert.equal(new Date(occurrences[3]!.periodEndMs!).toISOString(), '2024-01-10T11:00:00.000Z');
});

test('instances keep their wall-clock time across a DST change', () => {
  // 09:00 Europe/Berlin daily over the last Sunday of March 2024: 08:00Z, then 07:00Z.
  const set = setOf(event('DTSTART;TZID=Europe/Berlin:20240330T090000\nRRULE:FREQ=DAILY;COUNT=2'));
  assert.deepEqual(starts(set), ['2024-03-30T08:00', '2024-03-31T07:00']);
});

test('floating rules follow the default zone', () => {
  const set = setOf(event('DTSTART:20240105T090000\nRRULE:FREQ=DAILY;COUNT=2'));
  const ny = resolveDefaultTimezone('America/New_York');
  const occurrences = expandInstances(set, {}, { maxInstances: 10 }, ny).occurrences;
  assert.deepEqual(
    occurrences.map((o) => new Date(o.startMs!).toISOString()),
    ['2024-01-05T14:00:00.000Z', '2024-01-06T14:00:00.000Z'],
  );
});

test('an open-ended rule stops at the instance limit and says so', () => {
  const expansion = expandInstances(setOf(event('DTSTART:20240101T000000Z\nRRULE:FREQ=DAILY')), {}, { maxInstances: 50 });
  assert.equal(expansion.occurrences.length, 50);
  assert.equal(expansion.truncated, true);
  assert.equal(expansion.infinite, true);
  const finite = expandInstances(setOf(event('DTSTART:20240101T000000Z\nRRULE:FREQ=DAILY;COUNT=5')), {}, { maxInstances: 50 });
  assert.equal(finite.occurrences.length, 5);
  assert.equal(finite.truncated, false);
  assert.equal(finite.infinite, false);
});

test('FREQ=SECONDLY without end over 100 years returns quickly', () => {
  const set = setOf(event('DTSTART:20240101T000000Z\nRRULE:FREQ=SECONDLY'));
  const range = { start: new Date('2024-01-01T00:00:00Z'), end: new Date('2124-01-01T00:00:00Z') };
  const t0 = performance.now();
  const expansion = expandInstances(set, range, { maxInstances: 10_000 });
  const elapsed = performance.now() - t0;
  assert.ok(elapsed < 2000, `took ${elapsed} ms`);
  // Stopped by the instance limit, or earlier by the time budget on a busy machine.
  assert.ok(expansion.occurrences.length > 0 && expansion.occurrences.length <= 10_000, `${expansion.occurrences.length}`);
  assert.equal(new Date(expansion.occurrences[1]!.startMs!).toISOString(), '2024-01-01T00:00:01.000Z');
  assert.equal(expansion.truncated, true);
  // A day 100 years on: the iterator skips ahead, then the instance limit cuts the day's 86 400 seconds.
  const t1 = performance.now();
  const far = expandInstances(set, { start: new Date('2123-06-01T00:00:00Z'), end: new Date('2123-06-02T00:00:00Z') }, { maxInstances: 10_000 });
  assert.ok(performance.now() - t1 < 2000, `took ${performance.now() - t1} ms`);
  assert.equal(far.truncated, true);
});

test('a rule that never matches again cannot stall an expansion', () => {
  // There is no 30 February: ical.js would look for one second after second for ever.
  for (const rule of ['FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30', 'FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30']) {
    const set = setOf(event(`DTSTART:20240101T000000Z\nRRULE:${rule}`));
    const t0 = performance.now();
    const expansion = expandInstances(set, { start: new Date('2030-01-01T00:00:00Z'), end: new Date('2031-01-01T00:00:00Z') }, { maxInstances: 1000 });
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 2000, `${rule} took ${elapsed} ms`);
    assert.equal(expansion.truncated, true, rule);
  }
  // A fifth Friday in February comes every 28 years; each ical.js step here is slow (~0.1 ms).
  const sparse = setOf(event('DTSTART:20240101T000000Z\nRRULE:FREQ=MONTHLY;BYDAY=5FR;BYMONTH=2'));
  const t0 = performance.now();
  expandInstances(sparse, { start: new Date('2090-01-01T00:00:00Z') }, { maxInstances: 1000 });
  assert.ok(performance.now() - t0 < 2000);
});

test('explicit step and time budgets are honoured', () => {
  const set = setOf(event('DTSTART:20240101T000000Z\nRRULE:FREQ=MINUTELY'));
  const bySteps = expandInstances(set, { start: new Date('2025-01-01T00:00:00Z') }, { maxInstances: 10, maxSteps: 500 });
  assert.equal(bySteps.truncated, true);
  assert.equal(bySteps.occurrences.length, 0);
  const t0 = performance.now();
  const byTime = expandInstances(set, { start: new Date('2090-01-01T00:00:00Z') }, { maxInstances: 10, maxSteps: Infinity, maxMillis: 50 });
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(byTime.truncated, true);
});

test('overrides without a master come back as they are', () => {
  const set = setOf(event('RECURRENCE-ID:20240105T100000Z\nDTSTART:20240105T120000Z\nDURATION:PT1H'));
  assert.equal(set.master, null);
  const [only] = expandInstances(set, {}, { maxInstances: 10 }).occurrences;
  assert.equal(only?.overridden, true);
  assert.equal(new Date(only!.startMs!).toISOString(), '2024-01-05T12:00:00.000Z');
  assert.ok(only?.recurrenceId instanceof ICAL.Time);
});

test('open-ended daily and weekly rules are asked about years later in a few steps', () => {
  // Mon/Wed/Fri 08:00Z since Mon 5 Jan 2015; 5-9 Mar 2040 is Mon-Fri (checked with date(1)).
  const weekly = setOf(event('DTSTART:20150105T080000Z\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR'));
  const march = expandInstances(weekly, { start: new Date('2040-03-05T00:00:00Z'), end: new Date('2040-03-10T00:00:00Z') }, { maxInstances: 100, maxSteps: 500 });
  assert.equal(march.truncated, false);
  assert.deepEqual(
    march.occurrences.map((o) => new Date(o.startMs!).toISOString()),
    ['2040-03-05T08:00:00.000Z', '2040-03-07T08:00:00.000Z', '2040-03-09T08:00:00.000Z'],
  );
  // Every third day at 09:00 Berlin since 5 Jan 2015: 10 Jul 2040 is day 9318 = 3 × 3106 (CEST: 07:00Z).
  const everyThird = setOf(event('DTSTART;TZID=Europe/Berlin:20150105T090000\nRRULE:FREQ=DAILY;INTERVAL=3'));
  const july = expandInstances(everyThird, { start: new Date('2040-07-10T00:00:00Z'), end: new Date('2040-07-14T00:00:00Z') }, { maxInstances: 100, maxSteps: 500 });
  assert.equal(july.truncated, false);
  assert.deepEqual(
    july.occurrences.map((o) => new Date(o.startMs!).toISOString()),
    ['2040-07-10T07:00:00.000Z', '2040-07-13T07:00:00.000Z'],
  );
});
