/** Evaluating a CALDAV:filter (RFC 4791 §9.7) against one stored calendar object. */
import ICAL from 'ical.js';
import { textMatches } from '../../collation.js';
import type { CompFilter, ParamFilter, PropFilter, TextMatch, TimeRange } from './filter.js';
import { loadForReading, mainComponents } from './load.js';
import { expandInstances, recurrenceSets, type Expansion, type Occurrence, type RecurrenceSet } from './recurrence.js';
import { addDurationMs, toMs, type Zone } from './time.js';
import { alarmReachMs, alarmTriggers, freeBusySpans, occurrenceSpan } from './timerange.js';
import { resolveDefaultTimezone } from './timezones.js';

/** Instances looked at per recurrence set and range while matching. */
const MATCH_MAX_INSTANCES = 1_000;

interface Context {
  floating: Zone;
  sets: Map<ICAL.Component, RecurrenceSet>;
  expansions: Map<string, Expansion>;
  setIds: Map<RecurrenceSet, number>;
}

/**
 * Whether the object in `text` matches the filter. Floating times and dates are read in
 * `defaultTimezone` (RFC 4791 §7.3). A recurring object whose expansion hit its limits before
 * deciding counts as a match, as its index entry (lastEnd null) does.
 */
export function matchesFilter(text: string, filter: CompFilter, options: { defaultTimezone?: string }): boolean {
  const key = answerKey(text, filter, options);
  const known = key === undefined ? undefined : answers.get(key);
  if (known !== undefined) return known;
  const answer = matchesFilterUncached(text, filter, options);
  if (key !== undefined) {
    if (answers.size >= ANSWERS_MAX) answers.delete(answers.keys().next().value!);
    answers.set(key, answer);
  }
  return answer;
}

/**
 * Answers kept by object text, filter and zone. Matching is a pure function of the three, and
 * clients repeat the same window over objects that rarely change, so a recurring event is
 * expanded once per window rather than on every query. Bounded; the oldest entry goes first.
 */
const answers = new Map<string, boolean>();
const ANSWERS_MAX = 2_000;
/** Larger objects are matched each time (the keys stay within tens of MiB). */
const ANSWER_MAX_TEXT = 16 * 1024;
/** A filter's key, made once per parsed filter (plain data: names, flags, strings and dates). */
const filterKeys = new WeakMap<CompFilter, string>();

function answerKey(text: string, filter: CompFilter, options: { defaultTimezone?: string }): string | undefined {
  if (text.length > ANSWER_MAX_TEXT) return undefined;
  let filterKey = filterKeys.get(filter);
  if (filterKey === undefined) {
    filterKey = JSON.stringify(filter);
    filterKeys.set(filter, filterKey);
  }
  return `${filterKey}\u0000${options.defaultTimezone ?? ''}\u0000${text}`;
}

function matchesFilterUncached(text: string, filter: CompFilter, options: { defaultTimezone?: string }): boolean {
  const root = loadForReading(text);
  if (!root || filter.name !== 'VCALENDAR' || filter.isNotDefined) return false;
  const context: Context = { floating: resolveDefaultTimezone(options.defaultTimezone), sets: new Map(), expansions: new Map(), setIds: new Map() };
  const byName = new Map<string, ICAL.Component[]>();
  for (const component of mainComponents(root)) byName.set(component.name, [...(byName.get(component.name) ?? []), component]);
  for (const components of byName.values()) {
    for (const set of recurrenceSets(components)) {
      context.setIds.set(set, context.setIds.size);
      for (const c of [set.master, ...set.overrides]) if (c) context.sets.set(c, set);
    }
  }
  return matchComponent(root, filter, context);
}

/** A comp-filter against one component: its time-range, then all its prop- and comp-filters. */
function matchComponent(component: ICAL.Component, filter: CompFilter, context: Context): boolean {
  if (filter.timeRange && !overlaps(component, filter.timeRange, context)) return false;
  return filter.propFilters.every((f) => matchProperty(component, f, context)) && filter.compFilters.every((f) => matchChildren(component, f, context));
}

/** Any sub-component of that name matches; or, with is-not-defined, there is none. */
function matchChildren(parent: ICAL.Component, filter: CompFilter, context: Context): boolean {
  const components = parent.getAllSubcomponents(filter.name.toLowerCase());
  if (filter.isNotDefined) return components.length === 0;
  return components.some((c) => matchComponent(c, filter, context));
}

function bounds(range: TimeRange): [number, number] {
  return [range.start?.getTime() ?? -Infinity, range.end?.getTime() ?? Infinity];
}

/** The component time-range test of RFC 4791 §9.9, over every instance the component supplies. */
function overlaps(component: ICAL.Component, range: TimeRange, context: Context): boolean {
  const [start, end] = bounds(range);
  switch (component.name) {
    case 'vevent':
    case 'vtodo':
    case 'vjournal': {
      const { occurrences, truncated } = occurrencesOf(component, start, end, 0, context);
      return occurrences.some((o) => occurrenceSpan(o, context.floating).overlaps(start, end)) || truncated;
    }
    case 'vfreebusy':
      return freeBusySpans(component, context.floating).some((s) => s.overlaps(start, end));
    case 'valarm':
      return alarmOverlaps(component, start, end, context);
    default:
      return false;
  }
}

/** A VALARM overlaps when one of its triggers, for any instance of its parent, is in [start, end). */
function alarmOverlaps(alarm: ICAL.Component, start: number, end: number, context: Context): boolean {
  const parent = alarm.parent;
  if (!parent) return false;
  const reach = alarmReachMs(alarm);
  const { occurrences, truncated } = occurrencesOf(parent, start, end, reach, context);
  return occurrences.some((o) => alarmTriggers(alarm, o, context.floating).some((t) => start <= t && end > t)) || truncated;
}

/** The occurrences `component` supplies (the master: its non-overridden instances) near a range. */
function occurrencesOf(component: ICAL.Component, start: number, end: number, widen: number, context: Context): { occurrences: Occurrence[]; truncated: boolean } {
  const set = context.sets.get(component) ?? { master: component, overrides: [] };
  const from = start - widen;
  const to = end + widen;
  const key = `${context.setIds.get(set) ?? -1}:${from}:${to}`;
  let expansion = context.expansions.get(key);
  if (!expansion) {
    const range = { ...(Number.isFinite(from) ? { start: new Date(from) } : {}), ...(Number.isFinite(to) ? { end: new Date(to) } : {}) };
    expansion = expandInstances(set, range, { maxInstances: MATCH_MAX_INSTANCES }, context.floating);
    context.expansions.set(key, expansion);
  }
  return {
    occurrences: expansion.occurrences.filter((o) => o.component === component),
    truncated: expansion.truncated && set.master === component,
  };
}

/** A prop-filter: some property of that name meets every condition (RFC 4791 §9.7.2). */
function matchProperty(component: ICAL.Component, filter: PropFilter, context: Context): boolean {
  const name = filter.name.toLowerCase();
  const properties = component.getAllProperties(name);
  if (filter.isNotDefined) return properties.length === 0;
  if (properties.length === 0) {
    // §9.9: a time-range on a missing DTEND (VEVENT) or DUE (VTODO) tests DTSTART+DURATION.
    if (!filter.timeRange || filter.paramFilters.length > 0) return false;
    const effective = effectiveEnd(component, name, context.floating);
    return effective !== null && inRange(effective, filter.timeRange);
  }
  return properties.some(
    (p) =>
      (!filter.timeRange || propertyInRange(p, filter.timeRange, context.floating)) &&
      (!filter.textMatch || matchText(propertyTexts(p), filter.textMatch)) &&
      filter.paramFilters.every((f) => matchParameter(p, f)),
  );
}

function effectiveEnd(component: ICAL.Component, name: string, floating: Zone): number | null {
  const wanted = component.name === 'vevent' ? 'dtend' : component.name === 'vtodo' ? 'due' : null;
  if (name !== wanted) return null;
  const start = component.getFirstPropertyValue('dtstart');
  const duration = component.getFirstPropertyValue('duration');
  return start instanceof ICAL.Time && duration instanceof ICAL.Duration ? addDurationMs(start, duration, floating) : null;
}

function inRange(at: number, range: TimeRange): boolean {
  const [start, end] = bounds(range);
  return start <= at && end > at;
}

/** §9.9: a DATE or DATE-TIME property overlaps when (start <= value AND end > value). */
function propertyInRange(property: ICAL.Property, range: TimeRange, floating: Zone): boolean {
  const [start, end] = bounds(range);
  return property.getValues().some((value: unknown) => {
    if (value instanceof ICAL.Time) return inRange(toMs(value, floating), range);
    if (value instanceof ICAL.Period) return toMs(value.start, floating) < end && toMs(value.getEnd(), floating) > start;
    return false;
  });
}

/** A property's values as text: decoded TEXT as is, other types in their iCalendar form. */
function propertyTexts(property: ICAL.Property): string[] {
  return property.getValues().map((value: unknown) => {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object' && 'toICALString' in value && typeof value.toICALString === 'function') return String(value.toICALString());
    return Array.isArray(value) ? value.join(';') : String(value);
  });
}

/** Any value (or, for lists such as CATEGORIES, the whole list) matches; negate-condition inverts. */
function matchText(values: string[], match: TextMatch): boolean {
  const test = (v: string) => textMatches(v, match.value, match.collation, match.matchType);
  const found = values.some(test) || (values.length > 1 && test(values.join(',')));
  return match.negate ? !found : found;
}

function matchParameter(property: ICAL.Property, filter: ParamFilter): boolean {
  const raw: unknown = property.getParameter(filter.name.toLowerCase());
  const values = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
  if (filter.isNotDefined) return values.length === 0;
  if (values.length === 0) return false;
  return !filter.textMatch || matchText(values, filter.textMatch);
}
