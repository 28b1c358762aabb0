/**
 * What a calendar object resource must be (RFC 4791 §4.1, §5.3.2.1), beyond what ical.js
 * checks: ical.js validates structure only, so DTSTART:notadate or 2024-02-30 pass its parser.
 */
import ICAL from 'ical.js';
import { CalendarDataError } from './errors.js';
import { isComponentType, mainComponents, type ComponentType } from './load.js';
import { probeRule } from './recurrence.js';
import { toMs } from './time.js';

/** The checks of a calendar object resource, in the order a client can best act on them. Returns its type. */
export function validateObject(root: ICAL.Component, supported: readonly ComponentType[]): { type: ComponentType; uid: string } {
  const version = root.getFirstPropertyValue('version');
  if (version !== '2.0') throw new CalendarDataError('valid-calendar-data', 'VERSION:2.0 is required');
  // PRODID is required by RFC 5545 §3.6 too, but clients omit it and nothing depends on it.
  if (root.hasProperty('method')) throw new CalendarDataError('valid-calendar-object-resource', 'METHOD is not allowed in a stored calendar object (RFC 4791 §4.1)');
  checkValues(root);

  const components = mainComponents(root);
  const names = new Set(components.map((c) => c.name.toUpperCase()));
  if (names.size === 0) throw new CalendarDataError('valid-calendar-object-resource', 'no VEVENT, VTODO, VJOURNAL or VFREEBUSY');
  if (names.size > 1) throw new CalendarDataError('valid-calendar-object-resource', `one component type per object, found ${[...names].join(', ')}`);
  const name = [...names][0]!;
  if (!isComponentType(name) || !supported.includes(name)) {
    throw new CalendarDataError('supported-calendar-component', `${name} is not supported by this calendar`);
  }
  const uid = checkUids(components);
  for (const component of components) checkComponent(component);
  return { type: name, uid };
}

/** One UID for every component (§4.1); one master, and each RECURRENCE-ID once. */
function checkUids(components: ICAL.Component[]): string {
  let uid: string | undefined;
  const seen = new Set<string>();
  for (const component of components) {
    const value = component.getFirstPropertyValue('uid');
    if (typeof value !== 'string' || value === '') throw new CalendarDataError('valid-calendar-object-resource', `${component.name.toUpperCase()} has no UID`);
    if (uid !== undefined && value !== uid) throw new CalendarDataError('valid-calendar-object-resource', 'all components of an object must share one UID');
    uid = value;
    const rid = component.getFirstPropertyValue('recurrence-id');
    const key = rid instanceof ICAL.Time ? String(toMs(rid, null)) : 'master';
    if (seen.has(key)) throw new CalendarDataError('valid-calendar-object-resource', key === 'master' ? 'more than one component without RECURRENCE-ID' : 'the same RECURRENCE-ID twice');
    seen.add(key);
  }
  return uid!;
}

/** The RFC 5545 §3.6 rules we rely on to compute times. */
function checkComponent(component: ICAL.Component): void {
  const name = component.name.toUpperCase();
  const dtstart = component.getFirstPropertyValue('dtstart');
  const dtend = component.getFirstPropertyValue('dtend');
  const due = component.getFirstPropertyValue('due');
  const hasDuration = component.hasProperty('duration');
  // DTSTART is required when there is no METHOD (RFC 5545 §3.6.1), and a stored object has none.
  if (name === 'VEVENT' && !(dtstart instanceof ICAL.Time)) throw invalid('VEVENT needs DTSTART');
  if (dtend && hasDuration) throw invalid(`${name} has both DTEND and DURATION`);
  if (due && hasDuration) throw invalid(`${name} has both DUE and DURATION`);
  if (name === 'VTODO' && hasDuration && !dtstart) throw invalid('VTODO with DURATION needs DTSTART');
  if (dtstart instanceof ICAL.Time && dtend instanceof ICAL.Time && toMs(dtend, null) < toMs(dtstart, null)) throw invalid('DTEND is before DTSTART');
  for (const property of component.getAllProperties('rrule')) {
    const rule = property.getFirstValue();
    if (!(rule instanceof ICAL.Recur) || !rule.freq) throw invalid('RRULE without FREQ');
    // Thunderbird writes recurring tasks with only DUE; we keep them, as single instances.
    if (!(dtstart instanceof ICAL.Time)) continue;
    try {
      probeRule(rule, dtstart, null);
    } catch (error) {
      throw invalid(`RRULE cannot be expanded: ${(error as Error).message}`);
    }
  }
}

function invalid(message: string): CalendarDataError {
  return new CalendarDataError('valid-calendar-data', message);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z?$/;

/** Every property value of every component decodes, and dates are real dates. */
function checkValues(component: ICAL.Component): void {
  for (const property of component.getAllProperties()) {
    const where = `${property.name.toUpperCase()} in ${component.name.toUpperCase()}`;
    for (const raw of property.jCal.slice(3) as unknown[]) checkRaw(property.type, raw, where);
    try {
      property.getValues();
    } catch (error) {
      throw invalid(`bad ${where}: ${(error as Error).message}`);
    }
  }
  for (const child of component.getAllSubcomponents()) checkValues(child);
}

function checkRaw(type: string, raw: unknown, where: string): void {
  if (type === 'date' || type === 'date-time') {
    if (typeof raw !== 'string' || !validDate(raw, type)) throw invalid(`bad ${type} value in ${where}: ${String(raw)}`);
  } else if (type === 'period') {
    const [start, end] = Array.isArray(raw) ? (raw as unknown[]) : [];
    if (typeof start !== 'string' || !validDate(start, 'date-time')) throw invalid(`bad period in ${where}`);
    if (typeof end !== 'string' || (!end.startsWith('P') && !end.startsWith('-P') && !end.startsWith('+P') && !validDate(end, 'date-time'))) {
      throw invalid(`bad period in ${where}`);
    }
  }
}

function validDate(value: string, type: string): boolean {
  const m = (type === 'date' ? DATE : DATE_TIME).exec(value);
  if (!m) return false;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1).map(Number) as number[];
  if (month! < 1 || month! > 12 || day! < 1 || day! > ICAL.Time.daysInMonth(month!, year!)) return false;
  // Second 60 is a leap second (RFC 5545 §3.3.5).
  return hour <= 23 && minute <= 59 && second <= 60;
}
