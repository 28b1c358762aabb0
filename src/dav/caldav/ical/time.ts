/** Instants from ical.js times: floating times and dates are read in a given zone (else UTC). */
import ICAL from 'ical.js';

export type Zone = ICAL.Timezone | null;

const DAY_MS = 86_400_000;

/** True for DATE values and for DATE-TIME values with no zone (floating, or an unknown TZID). */
export function isFloating(time: ICAL.Time): boolean {
  return time.isDate || !time.zone || time.zone === ICAL.Timezone.localTimezone || time.zone.tzid === 'floating';
}

/**
 * Milliseconds since the epoch. Floating times and dates are wall-clock times in `floating`
 * (the calendar's time zone, RFC 4791 §7.3), or UTC when there is none.
 */
export function toMs(time: ICAL.Time, floating: Zone): number {
  if (!isFloating(time)) return time.toUnixTime() * 1000;
  const hour = time.isDate ? 0 : time.hour;
  const minute = time.isDate ? 0 : time.minute;
  const second = time.isDate ? 0 : time.second;
  const wall = Date.UTC(time.year, time.month - 1, time.day, hour, minute, second);
  if (!floating || floating === ICAL.Timezone.utcTimezone) return wall;
  const local = new ICAL.Time({ year: time.year, month: time.month, day: time.day, hour, minute, second, isDate: false }, floating);
  return wall - floating.utcOffset(local) * 1000;
}

/**
 * `time` moved by `duration`: weeks and days are nominal (same wall-clock time, across DST),
 * hours, minutes and seconds exact (RFC 5545 §3.3.6).
 */
export function addDurationMs(time: ICAL.Time, duration: ICAL.Duration, floating: Zone): number {
  const sign = duration.isNegative ? -1 : 1;
  const days = sign * (duration.weeks * 7 + duration.days);
  const exact = sign * (duration.hours * 3600 + duration.minutes * 60 + duration.seconds) * 1000;
  return toMs(addDays(time, days), floating) + exact;
}

/** A copy of `time` moved by whole days on its own calendar. */
export function addDays(time: ICAL.Time, days: number): ICAL.Time {
  const moved = time.clone();
  if (days !== 0) moved.adjust(days, 0, 0, 0);
  return moved;
}

/** Whole calendar days from `a` to `b` (both read as dates). */
export function daysBetween(a: ICAL.Time, b: ICAL.Time): number {
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / DAY_MS);
}

/** An ical.js UTC DATE-TIME for an instant. */
export function utcTime(ms: number): ICAL.Time {
  return ICAL.Time.fromJSDate(new Date(ms), true);
}

/** The iCalendar UTC form, e.g. 20240105T100000Z. */
export function formatUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}/, '').replace(/[-:]/g, '');
}

/**
 * A CalDAV time-range or expand attribute: "date with UTC time" (RFC 4791 §9.9), e.g.
 * 20060104T000000Z. A missing Z is read as UTC too (lenient); anything else is null.
 */
export function parseUtc(value: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z?$/.exec(value.trim());
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  if (back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return null;
  return back;
}
