/**
 * When an instance overlaps a time range: the tables of RFC 4791 §9.9, one function per
 * component type. Ranges are [start, end) in epoch milliseconds, ±Infinity when open.
 */
import ICAL from 'ical.js';
import { shiftedMs, type Occurrence } from './recurrence.js';
import { addDurationMs, toMs, type Zone } from './time.js';

/**
 * What §9.9 says about one instance: an exact test, and the smallest interval [lo, hi] that
 * every matching range touches (the index stores the union of these; ±Infinity when open).
 */
export interface Span {
  lo: number;
  hi: number;
  overlaps(start: number, end: number): boolean;
}

const NEVER: Span = { lo: Infinity, hi: -Infinity, overlaps: () => false };
const ALWAYS: Span = { lo: -Infinity, hi: Infinity, overlaps: () => true };

function point(at: number): Span {
  return { lo: at, hi: at, overlaps: (start, end) => start <= at && end > at };
}

function interval(from: number, to: number): Span {
  return { lo: from, hi: to, overlaps: (start, end) => start < to && end > from };
}

/** The span of one occurrence of a VEVENT, VTODO or VJOURNAL (§9.9). */
export function occurrenceSpan(occurrence: Occurrence, floating: Zone): Span {
  switch (occurrence.component.name) {
    case 'vevent':
      return eventSpan(occurrence, floating);
    case 'vtodo':
      return todoSpan(occurrence, floating);
    case 'vjournal':
      return journalSpan(occurrence, floating);
    default:
      return NEVER;
  }
}

/** The instant a VEVENT occurrence ends: DTEND, DTSTART+DURATION, else +P1D for a DATE and +0 for a DATE-TIME. */
export function eventEndMs(occurrence: Occurrence, floating: Zone): number | null {
  const { start, startMs, component } = occurrence;
  if (!start || startMs === null) return null;
  if (occurrence.periodEndMs !== undefined) return occurrence.periodEndMs;
  const dtend = shiftedMs(occurrence, 'dtend', floating);
  if (dtend !== null) return dtend;
  const duration = component.getFirstPropertyValue('duration');
  if (duration instanceof ICAL.Duration) return addDurationMs(start, duration, floating);
  return start.isDate ? toMs(start.clone().adjust(1, 0, 0, 0), floating) : startMs;
}

/**
 * VEVENT: (start < END AND end > DTSTART) with a length; a zero-length event is a point,
 * (start <= DTSTART AND end > DTSTART). So an all-day event beginning exactly at the
 * range's end does not match.
 */
function eventSpan(occurrence: Occurrence, floating: Zone): Span {
  const { startMs } = occurrence;
  const endMs = eventEndMs(occurrence, floating);
  if (startMs === null || endMs === null) return NEVER;
  return endMs > startMs ? interval(startMs, endMs) : point(startMs);
}

/** VTODO: the eight rows of the §9.9 table, evaluated per instance. */
function todoSpan(occurrence: Occurrence, floating: Zone): Span {
  const { component, start, startMs } = occurrence;
  const duration = component.getFirstPropertyValue('duration');
  const due = shiftedMs(occurrence, 'due', floating);
  const completed = instant(component, 'completed', floating);
  const created = instant(component, 'created', floating);
  if (start && startMs !== null) {
    const s = startMs;
    if (duration instanceof ICAL.Duration && due === null) {
      const d = addDurationMs(start, duration, floating);
      return { lo: Math.min(s, d), hi: Math.max(s, d), overlaps: (rs, re) => rs <= d && (re > s || re >= d) };
    }
    if (due !== null) {
      return { lo: Math.min(s, due), hi: Math.max(s, due), overlaps: (rs, re) => (rs < due || rs <= s) && (re > s || re >= due) };
    }
    return point(s);
  }
  if (due !== null) return { lo: due, hi: due, overlaps: (rs, re) => rs < due && re >= due };
  if (completed !== null && created !== null) {
    return {
      lo: Math.min(created, completed),
      hi: Math.max(created, completed),
      overlaps: (rs, re) => (rs <= created || rs <= completed) && (re >= created || re >= completed),
    };
  }
  if (completed !== null) return { lo: completed, hi: completed, overlaps: (rs, re) => rs <= completed && re >= completed };
  if (created !== null) return { lo: created, hi: Infinity, overlaps: (_rs, re) => re > created };
  return ALWAYS;
}

/** VJOURNAL: a DATE-TIME start is a point, a DATE start a day, no DTSTART never matches. */
function journalSpan(occurrence: Occurrence, floating: Zone): Span {
  const { start, startMs } = occurrence;
  if (!start || startMs === null) return NEVER;
  return start.isDate ? interval(startMs, toMs(start.clone().adjust(1, 0, 0, 0), floating)) : point(startMs);
}

/** VFREEBUSY: DTSTART/DTEND if both are there, else each FREEBUSY period; DURATION is ignored. */
export function freeBusySpans(component: ICAL.Component, floating: Zone): Span[] {
  const dtstart = instant(component, 'dtstart', floating);
  const dtend = instant(component, 'dtend', floating);
  if (dtstart !== null && dtend !== null) {
    return [{ lo: dtstart, hi: dtend, overlaps: (rs, re) => rs <= dtend && re > dtstart }];
  }
  return freeBusyPeriods(component, floating).map((p) => interval(p.start, p.end));
}

export interface BusyPeriod {
  start: number;
  end: number;
  /** FBTYPE, upper case; BUSY when absent (RFC 5545 §3.2.9). */
  type: string;
}

/** Every period of every FREEBUSY property of a VFREEBUSY. */
export function freeBusyPeriods(component: ICAL.Component, floating: Zone): BusyPeriod[] {
  const out: BusyPeriod[] = [];
  for (const property of component.getAllProperties('freebusy')) {
    const fbtype = property.getFirstParameter('fbtype');
    const type = typeof fbtype === 'string' && fbtype ? fbtype.toUpperCase() : 'BUSY';
    for (const value of property.getValues()) {
      if (!(value instanceof ICAL.Period)) continue;
      const start = toMs(value.start, floating);
      const end = value.end ? toMs(value.end, floating) : addDurationMs(value.start, value.getDuration(), floating);
      out.push({ start, end, type });
    }
  }
  return out;
}

/** A DATE or DATE-TIME property as an instant, or null. */
export function instant(component: ICAL.Component, name: string, floating: Zone): number | null {
  const value = component.getFirstPropertyValue(name);
  return value instanceof ICAL.Time ? toMs(value, floating) : null;
}

/**
 * The trigger instants of a VALARM for one occurrence of its parent: TRIGGER (relative to
 * the start, or the end with RELATED=END; or absolute), then REPEAT more every DURATION
 * (RFC 5545 §3.6.6). A VALARM overlaps a range if any trigger does:
 * (start <= trigger-time AND end > trigger-time) (RFC 4791 §9.9).
 */
export function alarmTriggers(alarm: ICAL.Component, parent: Occurrence, floating: Zone): number[] {
  const trigger = alarm.getFirstProperty('trigger');
  if (!trigger) return [];
  const value = trigger.getFirstValue();
  let first: number | null = null;
  if (value instanceof ICAL.Time) first = toMs(value, floating);
  else if (value instanceof ICAL.Duration) {
    const related = String(trigger.getFirstParameter('related') ?? 'START').toUpperCase();
    const anchor = related === 'END' ? parentEndMs(parent, floating) : parent.startMs;
    if (anchor !== null) first = anchor + value.toSeconds() * 1000;
  }
  if (first === null) return [];
  const out = [first];
  const repeat = Number(alarm.getFirstPropertyValue('repeat') ?? 0);
  const every = alarm.getFirstPropertyValue('duration');
  if (Number.isInteger(repeat) && repeat > 0 && every instanceof ICAL.Duration && every.toSeconds() > 0) {
    for (let i = 1; i <= Math.min(repeat, 1000); i++) out.push(first + i * every.toSeconds() * 1000);
  }
  return out;
}

/** How far (ms) an alarm's triggers may lie from its parent's start or end, for widening ranges. */
export function alarmReachMs(alarm: ICAL.Component): number {
  const value = alarm.getFirstPropertyValue('trigger');
  let reach = value instanceof ICAL.Duration ? Math.abs(value.toSeconds()) * 1000 : 0;
  const repeat = Number(alarm.getFirstPropertyValue('repeat') ?? 0);
  const every = alarm.getFirstPropertyValue('duration');
  if (Number.isInteger(repeat) && repeat > 0 && every instanceof ICAL.Duration) reach += Math.min(repeat, 1000) * Math.abs(every.toSeconds()) * 1000;
  return reach;
}

/** The end of a VEVENT occurrence, or the DUE of a VTODO occurrence (for RELATED=END). */
function parentEndMs(parent: Occurrence, floating: Zone): number | null {
  if (parent.component.name === 'vevent') return eventEndMs(parent, floating);
  if (parent.component.name === 'vtodo') {
    const due = shiftedMs(parent, 'due', floating);
    if (due !== null) return due;
    const duration = parent.component.getFirstPropertyValue('duration');
    if (parent.start && duration instanceof ICAL.Duration) return addDurationMs(parent.start, duration, floating);
  }
  return null;
}
