/**
 * CALDAV:calendar-data in a REPORT (RFC 4791 §9.6): partial retrieval of components and
 * properties, expansion of recurrence sets, and limits on recurrence and free-busy sets.
 */
import type { Element } from '@xmldom/xmldom';
import ICAL from 'ical.js';
import { CALDAV } from '../../xml/names.js';
import { children, namespaceOf } from '../../xml/parse.js';
import type { TimeRange } from './filter.js';
import { loadStored, mainComponents } from './load.js';
import { expandInstances, isRecurring, recurrenceSets, shiftedMs, type Occurrence } from './recurrence.js';
import { addDays, daysBetween, parseUtc, toMs, utcTime, type Zone } from './time.js';
import { freeBusySpans, occurrenceSpan } from './timerange.js';
import { resolveDefaultTimezone } from './timezones.js';

export interface PropSelection {
  name: string;
  /** novalue="yes": the property with its parameters and an empty value. */
  noValue: boolean;
}

/** CALDAV:comp: which properties and sub-components of a component to return. */
export interface CompSelection {
  name: string;
  allProps: boolean;
  props: PropSelection[];
  allComps: boolean;
  comps: CompSelection[];
}

export interface CalendarDataRequest {
  comp?: CompSelection /* nested comp/prop selection with allcomp/allprop, novalue */;
  expand?: TimeRange;
  limitRecurrenceSet?: TimeRange;
  limitFreebusySet?: TimeRange;
}

/**
 * A calendar-data request the server cannot serve: `condition` names the CALDAV: precondition
 * (RFC 4791 §7.8 supported-calendar-data) when there is one, else it is a plain 400.
 */
export class CalendarDataRequestError extends Error {
  constructor(
    readonly condition: 'supported-calendar-data' | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'CalendarDataRequestError';
  }
}

/** Rule-generated instances one expand may return per recurrence set. */
const EXPAND_MAX_INSTANCES = 5_000;

export function parseCalendarDataRequest(el: Element): CalendarDataRequest {
  const type = el.getAttribute('content-type');
  if (type && type.split(';')[0]!.trim().toLowerCase() !== 'text/calendar') {
    throw new CalendarDataRequestError('supported-calendar-data', `calendar data as ${type} is not supported`);
  }
  const version = el.getAttribute('version');
  if (version && version !== '2.0') throw new CalendarDataRequestError('supported-calendar-data', `iCalendar version ${version} is not supported`);
  const request: CalendarDataRequest = {};
  for (const child of caldavChildren(el)) {
    switch (child.localName) {
      case 'comp':
        request.comp = parseComp(child);
        if (request.comp.name !== 'VCALENDAR') throw new CalendarDataRequestError(undefined, 'the outer comp must name VCALENDAR');
        break;
      case 'expand':
        request.expand = requiredRange(child);
        break;
      case 'limit-recurrence-set':
        request.limitRecurrenceSet = requiredRange(child);
        break;
      case 'limit-freebusy-set':
        request.limitFreebusySet = requiredRange(child);
        break;
      default:
        throw new CalendarDataRequestError(undefined, `unexpected ${child.localName} in calendar-data`);
    }
  }
  if (request.expand && request.limitRecurrenceSet) throw new CalendarDataRequestError(undefined, 'expand and limit-recurrence-set exclude each other');
  return request;
}

/**
 * <!ELEMENT comp ((allprop | prop*), (allcomp | comp*))>. An empty comp returns the whole
 * component, as RFC 4791's own example (§7.8.1, <C:comp name="VTIMEZONE"/>) shows.
 */
function parseComp(el: Element): CompSelection {
  const name = el.getAttribute('name');
  if (!name) throw new CalendarDataRequestError(undefined, 'comp needs a name');
  const selection: CompSelection = { name: name.toUpperCase(), allProps: false, props: [], allComps: false, comps: [] };
  const elements = caldavChildren(el);
  if (elements.length === 0) return { ...selection, allProps: true, allComps: true };
  for (const child of elements) {
    switch (child.localName) {
      case 'allprop':
        selection.allProps = true;
        break;
      case 'prop': {
        const propName = child.getAttribute('name');
        if (!propName) throw new CalendarDataRequestError(undefined, 'prop needs a name');
        selection.props.push({ name: propName.toUpperCase(), noValue: child.getAttribute('novalue') === 'yes' });
        break;
      }
      case 'allcomp':
        selection.allComps = true;
        break;
      case 'comp':
        selection.comps.push(parseComp(child));
        break;
      default:
        throw new CalendarDataRequestError(undefined, `unexpected ${child.localName} in comp`);
    }
  }
  return selection;
}

/** expand, limit-recurrence-set and limit-freebusy-set need both bounds, in UTC (§9.6.5–9.6.7). */
function requiredRange(el: Element): TimeRange {
  const start = parseUtc(el.getAttribute('start') ?? '');
  const end = parseUtc(el.getAttribute('end') ?? '');
  if (!start || !end) throw new CalendarDataRequestError(undefined, `${el.localName} needs UTC start and end`);
  if (end <= start) throw new CalendarDataRequestError(undefined, `${el.localName} end must be after its start`);
  return { start, end };
}

function caldavChildren(el: Element): Element[] {
  return children(el).filter((c) => namespaceOf(c) === CALDAV);
}

/**
 * The calendar data to return for one object. With nothing selected, or when the selection
 * changes nothing, the stored text comes back byte for byte.
 */
export function renderCalendarData(text: string, request: CalendarDataRequest, options: { defaultTimezone?: string }): string {
  if (!request.comp && !request.expand && !request.limitRecurrenceSet && !request.limitFreebusySet) return text;
  let root = loadStored(text);
  if (!root) return text;
  const floating = resolveDefaultTimezone(options.defaultTimezone);
  let changed = false;
  if (request.expand) {
    root = expand(root, request.expand, floating);
    changed = true;
  } else if (request.limitRecurrenceSet) {
    changed = limitRecurrenceSet(root, request.limitRecurrenceSet, floating);
  }
  if (request.limitFreebusySet) changed = limitFreebusySet(root, request.limitFreebusySet, floating) || changed;
  if (request.comp) changed = select(root, request.comp) || changed;
  return changed ? root.toString() + '\r\n' : text;
}

function bounds(range: TimeRange): [number, number] {
  return [range.start?.getTime() ?? -Infinity, range.end?.getTime() ?? Infinity];
}

/**
 * §9.6.5: every instance overlapping the range as its own component with RECURRENCE-ID, no
 * RRULE/RDATE/EXDATE/EXRULE, every DATE-TIME in UTC, and no VTIMEZONE. DATE values (all-day)
 * stay dates: they carry no time zone to convert from.
 */
function expand(root: ICAL.Component, range: TimeRange, floating: Zone): ICAL.Component {
  const [start, end] = bounds(range);
  const out = new ICAL.Component(['vcalendar', structuredClone(root.jCal[1]), []]);
  const components = mainComponents(root);
  for (const name of new Set(components.map((c) => c.name))) {
    const ofType = components.filter((c) => c.name === name);
    if (name === 'vfreebusy') {
      for (const c of ofType) if (freeBusySpans(c, floating).some((s) => s.overlaps(start, end))) out.addSubcomponent(utcCopy(c, floating));
      continue;
    }
    for (const set of recurrenceSets(ofType)) {
      const recurring = isRecurring(set);
      const { occurrences } = expandInstances(set, range, { maxInstances: EXPAND_MAX_INSTANCES }, floating);
      for (const occurrence of occurrences) {
        if (occurrenceSpan(occurrence, floating).overlaps(start, end)) out.addSubcomponent(instance(occurrence, recurring, floating));
      }
    }
  }
  return out;
}

/** One instance as a stand-alone component, all its DATE-TIMEs in UTC. */
function instance(occurrence: Occurrence, recurring: boolean, floating: Zone): ICAL.Component {
  const component = utcCopy(occurrence.component, floating);
  for (const name of ['rrule', 'rdate', 'exdate', 'exrule']) component.removeAllProperties(name);
  const { start, startMs, recurrenceId } = occurrence;
  if (recurring && !occurrence.overridden && start && startMs !== null && recurrenceId) {
    const master = occurrence.component;
    const dtstart = master.getFirstPropertyValue('dtstart');
    const at = (time: ICAL.Time) => (time.isDate ? time : utcTime(toMs(time, floating)));
    component.updatePropertyWithValue('dtstart', at(start));
    for (const name of ['dtend', 'due']) {
      const value = master.getFirstPropertyValue(name);
      if (!(value instanceof ICAL.Time) || !(dtstart instanceof ICAL.Time)) continue;
      if (value.isDate) component.updatePropertyWithValue(name, addDays(start, daysBetween(dtstart, value)));
      else component.updatePropertyWithValue(name, utcTime(shiftedMs(occurrence, name, floating)!));
    }
    if (occurrence.periodEndMs !== undefined) {
      // An RDATE period gives this instance its own end (RFC 5545 §3.8.5.2).
      component.removeAllProperties('duration');
      component.updatePropertyWithValue('dtend', utcTime(occurrence.periodEndMs));
    }
    component.updatePropertyWithValue('recurrence-id', at(recurrenceId));
  }
  return component;
}

/**
 * A detached copy of a component tree with every DATE-TIME in UTC and TZID dropped (§9.6.5).
 * Values are read from the original, which still sees the VCALENDAR's VTIMEZONEs.
 */
function utcCopy(original: ICAL.Component, floating: Zone): ICAL.Component {
  const out = new ICAL.Component([original.name, [], []]);
  for (const property of original.getAllProperties()) {
    const clone = new ICAL.Property(structuredClone(property.jCal));
    const values = property.getValues();
    if (values.some((v: unknown) => v instanceof ICAL.Time || v instanceof ICAL.Period)) {
      const converted = values.map((v: unknown) => inUtc(v, floating));
      if (clone.isMultiValue) clone.setValues(converted);
      else clone.setValue(converted[0]);
      clone.removeParameter('tzid');
    }
    out.addProperty(clone);
  }
  for (const child of original.getAllSubcomponents()) out.addSubcomponent(utcCopy(child, floating));
  return out;
}

function inUtc(value: unknown, floating: Zone): unknown {
  if (value instanceof ICAL.Time) return value.isDate ? value : utcTime(toMs(value, floating));
  if (value instanceof ICAL.Period) {
    const start = utcTime(toMs(value.start, floating));
    return value.end ? ICAL.Period.fromData({ start, end: utcTime(toMs(value.end, floating)) }) : ICAL.Period.fromData({ start, duration: value.duration });
  }
  return value;
}

/**
 * §9.6.6: the master and only the overrides that overlap the range — by their own times or
 * by the instance they replace, which a client needs to know was moved.
 */
function limitRecurrenceSet(root: ICAL.Component, range: TimeRange, floating: Zone): boolean {
  const [start, end] = bounds(range);
  let changed = false;
  for (const set of recurrenceSets(mainComponents(root))) {
    for (const override of set.overrides) {
      const own = expandInstances({ master: null, overrides: [override] }, range, { maxInstances: 1 }, floating).occurrences[0];
      const rid = override.getFirstPropertyValue('recurrence-id');
      const replaced: Occurrence | null =
        set.master && rid instanceof ICAL.Time ? { component: set.master, overridden: false, recurrenceId: rid, start: rid, startMs: toMs(rid, floating) } : null;
      const keep = (own && occurrenceSpan(own, floating).overlaps(start, end)) || (replaced && occurrenceSpan(replaced, floating).overlaps(start, end));
      if (!keep) {
        root.removeSubcomponent(override);
        changed = true;
      }
    }
  }
  return changed;
}

/** §9.6.7: only the FREEBUSY periods that overlap the range. */
function limitFreebusySet(root: ICAL.Component, range: TimeRange, floating: Zone): boolean {
  const [start, end] = bounds(range);
  let changed = false;
  for (const component of root.getAllSubcomponents('vfreebusy')) {
    for (const property of component.getAllProperties('freebusy')) {
      const values = property.getValues();
      const kept = values.filter((v: unknown) => v instanceof ICAL.Period && toMs(v.start, floating) < end && toMs(v.getEnd(), floating) > start);
      if (kept.length === values.length) continue;
      changed = true;
      if (kept.length === 0) component.removeProperty(property);
      else if (property.isMultiValue) property.setValues(kept);
      else property.setValue(kept[0]);
    }
  }
  return changed;
}

/** Keeps what the comp selection names; returns whether anything was dropped or emptied. */
function select(component: ICAL.Component, selection: CompSelection): boolean {
  let changed = false;
  if (!selection.allProps) {
    for (const property of [...component.getAllProperties()]) {
      const wanted = selection.props.find((p) => p.name === property.name.toUpperCase());
      if (!wanted) {
        component.removeProperty(property);
        changed = true;
      } else if (wanted.noValue) {
        property.jCal.splice(3, property.jCal.length - 3, '');
        changed = true;
      }
    }
  }
  if (!selection.allComps) {
    for (const child of [...component.getAllSubcomponents()]) {
      const wanted = selection.comps.find((c) => c.name === child.name.toUpperCase());
      if (!wanted) {
        component.removeSubcomponent(child);
        changed = true;
      } else {
        changed = select(child, wanted) || changed;
      }
    }
  }
  return changed;
}
