/** The answer to a free-busy-query (RFC 4791 §7.10): one VFREEBUSY over a calendar's objects. */
import { randomUUID } from 'node:crypto';
import ICAL from 'ical.js';
import { loadStored, mainComponents } from './load.js';
import { expandInstances, recurrenceSets } from './recurrence.js';
import { formatUtc } from './time.js';
import { eventEndMs, freeBusyPeriods, type BusyPeriod } from './timerange.js';
import { resolveDefaultTimezone } from './timezones.js';

export interface FreeBusyOptions {
  /** calendar-timezone (IANA id or VTIMEZONE text) for floating times and dates. */
  defaultTimezone?: string;
  /** DTSTAMP; now by default. */
  now?: Date;
  prodId?: string;
}

const FB_MAX_INSTANCES = 10_000;
/** Output order of the merged types. */
const TYPE_ORDER = ['BUSY', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE'];

/**
 * A VCALENDAR with one VFREEBUSY whose DTSTART/DTEND are the range and whose FREEBUSY periods
 * (UTC, clipped to the range, merged per FBTYPE) come from:
 * - VEVENT instances that are not TRANSP:TRANSPARENT nor STATUS:CANCELLED — BUSY, or
 *   BUSY-TENTATIVE for STATUS:TENTATIVE (the table in §7.10);
 * - the FREEBUSY periods of VFREEBUSY components, with their own FBTYPE (FREE left out).
 */
export function freeBusy(objects: string[], range: { start: Date; end: Date }, options: FreeBusyOptions = {}): string {
  const floating = resolveDefaultTimezone(options.defaultTimezone);
  const start = range.start.getTime();
  const end = range.end.getTime();
  const busy: BusyPeriod[] = [];
  const add = (period: BusyPeriod): void => {
    const clipped = { start: Math.max(period.start, start), end: Math.min(period.end, end), type: period.type };
    if (clipped.end > clipped.start) busy.push(clipped);
  };

  for (const text of objects) {
    const root = loadStored(text);
    if (!root) continue;
    const components = mainComponents(root);
    for (const set of recurrenceSets(components.filter((c) => c.name === 'vevent'))) {
      const { occurrences } = expandInstances(set, range, { maxInstances: FB_MAX_INSTANCES }, floating);
      for (const occurrence of occurrences) {
        const type = eventBusyType(occurrence.component);
        const endMs = eventEndMs(occurrence, floating);
        if (type && occurrence.startMs !== null && endMs !== null) add({ start: occurrence.startMs, end: endMs, type });
      }
    }
    for (const component of components.filter((c) => c.name === 'vfreebusy')) {
      for (const period of freeBusyPeriods(component, floating)) {
        // FBTYPE is copied into our output, so only a plain token (RFC 5545 §3.2.9) goes through.
        if (period.type !== 'FREE') add({ ...period, type: /^[A-Z0-9-]+$/.test(period.type) ? period.type : 'BUSY' });
      }
    }
  }
  return render(merge(busy), range, options);
}

/** FBTYPE for a VEVENT (RFC 4791 §7.10), or null when it leaves the time free. */
function eventBusyType(event: ICAL.Component): string | null {
  const transp = String(event.getFirstPropertyValue('transp') ?? 'OPAQUE').toUpperCase();
  const status = String(event.getFirstPropertyValue('status') ?? 'CONFIRMED').toUpperCase();
  if (transp === 'TRANSPARENT' || status === 'CANCELLED') return null;
  return status === 'TENTATIVE' ? 'BUSY-TENTATIVE' : 'BUSY';
}

/** Overlapping or touching periods of the same type become one. */
function merge(periods: BusyPeriod[]): BusyPeriod[] {
  const out: BusyPeriod[] = [];
  const types = [...new Set(periods.map((p) => p.type))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const type of types) {
    const sorted = periods.filter((p) => p.type === type).sort((a, b) => a.start - b.start);
    let current: BusyPeriod | undefined;
    for (const p of sorted) {
      if (current && p.start <= current.end) current.end = Math.max(current.end, p.end);
      else out.push((current = { ...p }));
    }
  }
  return out.sort((a, b) => a.start - b.start || rank(a.type) - rank(b.type));
}

function rank(type: string): number {
  const i = TYPE_ORDER.indexOf(type);
  return i < 0 ? TYPE_ORDER.length : i;
}

function render(periods: BusyPeriod[], range: { start: Date; end: Date }, options: FreeBusyOptions): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    `PRODID:${options.prodId ?? '-//Davenport//CalDAV Server//EN'}`,
    'CALSCALE:GREGORIAN',
    'BEGIN:VFREEBUSY',
    `UID:${randomUUID()}`,
    `DTSTAMP:${formatUtc((options.now ?? new Date()).getTime())}`,
    `DTSTART:${formatUtc(range.start.getTime())}`,
    `DTEND:${formatUtc(range.end.getTime())}`,
    // BUSY is the default FBTYPE (RFC 5545 §3.2.9), written bare as in RFC 4791 §7.10.1.
    ...periods.map((p) => `FREEBUSY${p.type === 'BUSY' ? '' : `;FBTYPE=${p.type}`}:${formatUtc(p.start)}/${formatUtc(p.end)}`),
    'END:VFREEBUSY',
    'END:VCALENDAR',
  ];
  return lines.join('\r\n') + '\r\n';
}
