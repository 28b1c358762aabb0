/** Parsing one iCalendar object into ical.js, with bundled zones for undefined TZIDs. */
import ICAL from 'ical.js';
import { CalendarDataError } from './errors.js';
import { registerMissingTimezones, unusableTimezone } from './timezones.js';

/** The component types a calendar object resource holds (RFC 4791 §4.1). */
export const COMPONENT_TYPES = ['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY'] as const;
export type ComponentType = (typeof COMPONENT_TYPES)[number];

export function isComponentType(name: string): name is ComponentType {
  return (COMPONENT_TYPES as readonly string[]).includes(name);
}

/**
 * The VCALENDAR of `text`. Anything ical.js cannot parse, or anything but exactly one
 * VCALENDAR, is not calendar data (RFC 4791 §5.3.2.1 CALDAV:valid-calendar-data).
 */
export function loadCalendar(text: string): ICAL.Component {
  let jcal: unknown;
  try {
    jcal = ICAL.parse(text);
  } catch (error) {
    throw new CalendarDataError('valid-calendar-data', `not iCalendar: ${(error as Error).message}`);
  }
  if (!Array.isArray(jcal) || jcal.length === 0 || Array.isArray(jcal[0])) {
    throw new CalendarDataError('valid-calendar-data', 'expected exactly one VCALENDAR');
  }
  if (jcal[0] !== 'vcalendar') throw new CalendarDataError('valid-calendar-data', `expected VCALENDAR, found ${String(jcal[0]).toUpperCase()}`);
  const root = new ICAL.Component(jcal);
  for (const vtimezone of root.getAllSubcomponents('vtimezone')) {
    const why = unusableTimezone(vtimezone);
    if (why) throw new CalendarDataError('valid-calendar-data', why);
  }
  registerMissingTimezones(root);
  return root;
}

/** Loads stored data that was validated on the way in; null if it no longer parses. */
export function loadStored(text: string): ICAL.Component | null {
  try {
    return loadCalendar(text);
  } catch {
    return null;
  }
}

/** Parsed objects kept for read-only use, keyed by their text: a changed object is a new key. */
const parsed = new Map<string, ICAL.Component | null>();
const PARSED_MAX = 2_000;
/** Larger objects are parsed each time rather than kept (the cache stays within tens of MiB). */
const PARSED_MAX_TEXT = 64 * 1024;

/**
 * loadStored for callers that never change the component (filter matching): repeated queries
 * over the same recurring objects parse each once. Bounded; the oldest entry goes first.
 */
export function loadForReading(text: string): ICAL.Component | null {
  const hit = parsed.get(text);
  if (hit !== undefined) return hit;
  const root = loadStored(text);
  if (text.length > PARSED_MAX_TEXT) return root;
  if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value!);
  parsed.set(text, root);
  return root;
}

/** Top-level components other than VTIMEZONE (and X- components, which we carry but ignore). */
export function mainComponents(root: ICAL.Component): ICAL.Component[] {
  return root.getAllSubcomponents().filter((c) => c.name !== 'vtimezone' && !c.name.startsWith('x-'));
}
