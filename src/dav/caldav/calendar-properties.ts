import ICAL from 'ical.js';
import { unusableTimezone } from './ical/timezones.js';
import { calendarSettings, setCalendarTimezone, type CalendarSettings } from '../../store/calendars.js';
import { properties, type PropertyDefinition, type PropertyScope, type PropertyTarget } from '../properties/registry.js';
import { APPLE_ICAL, CALDAV, CALSERVER } from '../xml/names.js';
import { el, escapeXml } from '../xml/write.js';
import { textContent, type Element } from '../xml/parse.js';

export { COMPONENT_TYPES } from './ical/load.js';

/** Largest calendar object accepted (RFC 4791 §5.2.5). */
export const MAX_RESOURCE_SIZE = 10 * 1024 * 1024;

/** The range of dates the index covers (§5.2.6, §5.2.7). */
export const MIN_DATE_TIME = '19000101T000000Z';
export const MAX_DATE_TIME = '21001231T235959Z';

const isCalendar = (t: PropertyTarget) => t.node?.kind === 'calendar';

/** Calendar settings of every calendar in a response, loaded once. */
function settingsOf(t: PropertyTarget, scope: PropertyScope): Promise<CalendarSettings | undefined> {
  const ids = scope.targets.flatMap((x) => (x.node?.kind === 'calendar' ? [x.node.id] : []));
  return scope.once('calendar-settings', () => calendarSettings(scope.q, scope.userId, ids)).then((m) => m.get(t.node!.id));
}

/** A calendar-timezone value must be a VCALENDAR holding exactly one VTIMEZONE (§5.2.2). */
export function isValidTimezoneCalendar(text: string): boolean {
  try {
    const calendar = new ICAL.Component(ICAL.parse(text) as unknown[]);
    const zones = calendar.getAllSubcomponents('vtimezone');
    return calendar.name === 'vcalendar' && zones.length === 1 && calendar.getAllSubcomponents().length === 1 && unusableTimezone(zones[0]!) === undefined;
  } catch {
    return false;
  }
}

/** A writable property kept as a dead one, but only on calendars. */
function calendarDeadProperty(ns: string, local: string, fallback?: string): PropertyDefinition {
  return { ns, local, inAllprop: false, writable: true, get: (t) => (isCalendar(t) ? fallback : undefined) };
}

const calendarProperties: PropertyDefinition[] = [
  {
    ns: CALDAV,
    local: 'supported-calendar-component-set',
    inAllprop: false,
    async get(t, scope) {
      if (!isCalendar(t)) return undefined;
      const settings = await settingsOf(t, scope);
      return (settings?.components ?? []).map((c) => `<comp xmlns="${CALDAV}" name="${escapeXml(c)}"/>`).join('');
    },
  },
  {
    ns: CALDAV,
    local: 'supported-calendar-data',
    inAllprop: false,
    get: (t) => (isCalendar(t) ? `<calendar-data xmlns="${CALDAV}" content-type="text/calendar" version="2.0"/>` : undefined),
  },
  { ns: CALDAV, local: 'max-resource-size', inAllprop: false, get: (t) => (isCalendar(t) ? String(MAX_RESOURCE_SIZE) : undefined) },
  { ns: CALDAV, local: 'min-date-time', inAllprop: false, get: (t) => (isCalendar(t) ? MIN_DATE_TIME : undefined) },
  { ns: CALDAV, local: 'max-date-time', inAllprop: false, get: (t) => (isCalendar(t) ? MAX_DATE_TIME : undefined) },
  {
    ns: CALDAV,
    local: 'supported-collation-set',
    inAllprop: false,
    get: (t) =>
      t.node?.kind === 'calendar' || (t.node && t.node.parentId === null && t.lockPath === 'calendars')
        ? ['i;ascii-casemap', 'i;octet', 'i;unicode-casemap'].map((c) => el(CALDAV, 'supported-collation', c)).join('')
        : undefined,
  },
  {
    ns: CALDAV,
    local: 'calendar-timezone',
    inAllprop: false,
    writable: true,
    async get(t, scope) {
      if (!isCalendar(t)) return undefined;
      const timezone = (await settingsOf(t, scope))?.timezone;
      return timezone ? escapeXml(timezone) : undefined;
    },
    store: {
      validate(t, value: Element) {
        if (!isCalendar(t)) return { status: 403, ns: CALDAV, condition: 'calendar-collection-location-ok' };
        return isValidTimezoneCalendar(textContent(value)) ? undefined : { status: 403, ns: CALDAV, condition: 'valid-calendar-data' };
      },
      apply: (tx, t, value) => setCalendarTimezone(tx, t.node!.userId, t.node!.id, value ? textContent(value) : null),
    },
  },
  calendarDeadProperty(CALDAV, 'calendar-description'),
  // RFC 6638 §9.1: opaque unless the client says otherwise.
  calendarDeadProperty(CALDAV, 'schedule-calendar-transp', `<opaque xmlns="${CALDAV}"/>`),
  calendarDeadProperty(APPLE_ICAL, 'calendar-color'),
  calendarDeadProperty(APPLE_ICAL, 'calendar-order'),
  {
    // CalendarServer's collection tag: changes whenever a member does (iOS polls it).
    ns: CALSERVER,
    local: 'getctag',
    inAllprop: false,
    get: (t) => (t.node && (t.node.kind === 'calendar' || t.node.kind === 'addressbook') ? `${t.node.id}-${t.node.syncToken}` : undefined),
  },
];

properties.register(...calendarProperties);
