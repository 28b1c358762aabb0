/**
 * A calendar object resource on its way in (RFC 4791 §4.1, §5.3.2): validated, and reduced to
 * what the index needs to answer time-range queries without parsing.
 */
import ICAL from 'ical.js';
import { CalendarDataError } from './errors.js';
import { loadCalendar, mainComponents, type ComponentType } from './load.js';
import { DEFAULT_HORIZON, expandInstances, isRecurring, recurrenceSets, type RecurrenceSet } from './recurrence.js';
import { freeBusySpans, occurrenceSpan, type Span } from './timerange.js';
import { resolveDefaultTimezone } from './timezones.js';
import type { Zone } from './time.js';
import { validateObject } from './validate.js';

export type { ComponentType } from './load.js';
export { CalendarDataError } from './errors.js';

export interface CalendarObjectInfo {
  uid: string;
  componentType: ComponentType;
  /** UTC start of the first instance; null when it has none (e.g. VTODO without DTSTART/DUE) */
  firstStart: Date | null;
  /** UTC end of the last instance; null when unbounded (RRULE without UNTIL/COUNT) or unknown */
  lastEnd: Date | null;
  recurring: boolean;
}

export interface ParseOptions {
  supportedComponents: readonly ComponentType[];
  /** calendar-timezone as an IANA id or a VTIMEZONE text, for floating/all-day times */
  defaultTimezone?: string;
}

/** Instances looked at for the index; past this the object is treated as open-ended. */
export const INDEX_MAX_INSTANCES = 10_000;

/**
 * Validates an iCalendar object for a calendar collection and computes its index entry.
 * Throws CalendarDataError naming the RFC 4791 §5.3.2.1 precondition it fails.
 *
 * firstStart/lastEnd bound every instance by the RFC 4791 §9.9 rules: a query range can only
 * match when firstStart <= range end and lastEnd >= range start (null = unbounded on that side).
 */
export function parseCalendarObject(text: string, options: ParseOptions): CalendarObjectInfo {
  const root = loadCalendar(text);
  const { type, uid } = validateObject(root, options.supportedComponents);
  const floating = resolveDefaultTimezone(options.defaultTimezone);
  const components = mainComponents(root);
  const [set] = recurrenceSets(components);
  if (!set) throw new CalendarDataError('valid-calendar-object-resource', 'no component');
  const envelope = type === 'VFREEBUSY' ? freeBusyEnvelope(components, floating) : recurrenceEnvelope(set, floating);
  return { uid, componentType: type, ...envelope, recurring: isRecurring(set) };
}

interface Envelope {
  firstStart: Date | null;
  lastEnd: Date | null;
}

function recurrenceEnvelope(set: RecurrenceSet, floating: Zone): Envelope {
  const probe = expandInstances(set, {}, { maxInstances: 1 }, floating);
  // An open-ended rule has no last end: only its first instances are needed.
  const expansion = probe.infinite ? probe : expandInstances(set, {}, { maxInstances: INDEX_MAX_INSTANCES, horizon: DEFAULT_HORIZON }, floating);
  const spans = expansion.occurrences.map((o) => occurrenceSpan(o, floating));
  const envelope = union(spans);
  return { firstStart: envelope.firstStart, lastEnd: expansion.truncated || expansion.infinite ? null : envelope.lastEnd };
}

function freeBusyEnvelope(components: ICAL.Component[], floating: Zone): Envelope {
  return union(components.flatMap((c) => freeBusySpans(c, floating)));
}

function union(spans: Span[]): Envelope {
  let lo = Infinity;
  let hi = -Infinity;
  for (const span of spans) {
    if (span.lo > span.hi) continue; // never overlaps anything
    lo = Math.min(lo, span.lo);
    hi = Math.max(hi, span.hi);
  }
  return {
    firstStart: Number.isFinite(lo) ? new Date(lo) : null,
    lastEnd: Number.isFinite(hi) ? new Date(hi) : null,
  };
}
