/**
 * The CALDAV:filter of a calendar-query (RFC 4791 §9.7) as a small AST, what an index can
 * answer of it, and (in match.ts) the full evaluation against one calendar object.
 */
import type { Element } from '@xmldom/xmldom';
import ICAL from 'ical.js';
import { children, namespaceOf } from '../../xml/parse.js';
import { CALDAV } from '../../xml/names.js';
import { isCollation, type Collation, type MatchType } from '../../collation.js';
import { isComponentType, type ComponentType } from './load.js';
import { parseUtc } from './time.js';

export { matchesFilter } from './match.js';

export interface TextMatch {
  value: string;
  collation: Collation;
  negate: boolean;
  matchType?: MatchType /* contains is the CalDAV default */;
}
export interface TimeRange {
  start?: Date;
  end?: Date;
}
export interface ParamFilter {
  name: string;
  isNotDefined: boolean;
  textMatch?: TextMatch;
}
export interface PropFilter {
  name: string;
  isNotDefined: boolean;
  timeRange?: TimeRange;
  textMatch?: TextMatch;
  paramFilters: ParamFilter[];
}
export interface CompFilter {
  name: string;
  isNotDefined: boolean;
  timeRange?: TimeRange;
  propFilters: PropFilter[];
  compFilters: CompFilter[];
}

export type FilterCondition = 'valid-filter' | 'supported-collation' | 'valid-calendar-data';

/** A filter the server refuses, naming the CALDAV: precondition (RFC 4791 §7.8). */
export class FilterError extends Error {
  constructor(
    readonly condition: FilterCondition,
    message: string,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}

/** Components a time-range may apply to (RFC 4791 §9.9). */
const TIME_RANGE_COMPONENTS = new Set(['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY', 'VALARM']);

/** From the CALDAV:filter element (xmldom Element). */
export function parseFilter(filterElement: Element): CompFilter {
  const elements = caldavChildren(filterElement);
  const top = elements[0];
  if (elements.length !== 1 || !top || top.localName !== 'comp-filter') throw invalid('a filter holds exactly one comp-filter');
  const filter = parseCompFilter(top);
  if (filter.name !== 'VCALENDAR') throw invalid('the top-level comp-filter must name VCALENDAR');
  return filter;
}

function parseCompFilter(el: Element): CompFilter {
  const name = nameOf(el);
  const filter: CompFilter = { name, isNotDefined: false, propFilters: [], compFilters: [] };
  for (const child of caldavChildren(el)) {
    switch (child.localName) {
      case 'is-not-defined':
        filter.isNotDefined = true;
        break;
      case 'time-range':
        if (filter.timeRange) throw invalid(`more than one time-range in comp-filter ${name}`);
        if (!TIME_RANGE_COMPONENTS.has(name)) throw invalid(`time-range does not apply to ${name}`);
        filter.timeRange = parseTimeRange(child);
        break;
      case 'prop-filter':
        filter.propFilters.push(parsePropFilter(child));
        break;
      case 'comp-filter':
        filter.compFilters.push(parseCompFilter(child));
        break;
      case 'is-defined':
        break; // from pre-RFC drafts, still sent by some clients: "defined" is the default anyway
      default:
        throw invalid(`unexpected ${child.localName} in comp-filter`);
    }
  }
  if (filter.isNotDefined && (filter.timeRange || filter.propFilters.length || filter.compFilters.length)) {
    throw invalid(`is-not-defined excludes other conditions in comp-filter ${name}`);
  }
  return filter;
}

function parsePropFilter(el: Element): PropFilter {
  const name = nameOf(el);
  const filter: PropFilter = { name, isNotDefined: false, paramFilters: [] };
  for (const child of caldavChildren(el)) {
    switch (child.localName) {
      case 'is-not-defined':
        filter.isNotDefined = true;
        break;
      case 'time-range':
        if (filter.timeRange || filter.textMatch) throw invalid(`prop-filter ${name} takes one time-range or one text-match`);
        filter.timeRange = parseTimeRange(child);
        break;
      case 'text-match':
        if (filter.timeRange || filter.textMatch) throw invalid(`prop-filter ${name} takes one time-range or one text-match`);
        filter.textMatch = parseTextMatch(child);
        break;
      case 'param-filter':
        filter.paramFilters.push(parseParamFilter(child));
        break;
      case 'is-defined':
        break;
      default:
        throw invalid(`unexpected ${child.localName} in prop-filter`);
    }
  }
  if (filter.isNotDefined && (filter.timeRange || filter.textMatch || filter.paramFilters.length)) {
    throw invalid(`is-not-defined excludes other conditions in prop-filter ${name}`);
  }
  return filter;
}

function parseParamFilter(el: Element): ParamFilter {
  const name = nameOf(el);
  const filter: ParamFilter = { name, isNotDefined: false };
  for (const child of caldavChildren(el)) {
    if (child.localName === 'is-not-defined') filter.isNotDefined = true;
    else if (child.localName === 'text-match' && !filter.textMatch) filter.textMatch = parseTextMatch(child);
    else if (child.localName !== 'is-defined') throw invalid(`unexpected ${child.localName} in param-filter`);
  }
  if (filter.isNotDefined && filter.textMatch) throw invalid(`is-not-defined excludes text-match in param-filter ${name}`);
  return filter;
}

/** RFC 4791 §9.7.5: collation defaults to i;ascii-casemap, negate-condition to "no". */
function parseTextMatch(el: Element): TextMatch {
  const collation = el.getAttribute('collation') || 'i;ascii-casemap';
  if (!isCollation(collation)) throw new FilterError('supported-collation', `collation ${collation} is not supported`);
  const negate = el.getAttribute('negate-condition') || 'no';
  if (negate !== 'yes' && negate !== 'no') throw invalid(`negate-condition must be yes or no, not ${negate}`);
  const match: TextMatch = { value: el.textContent ?? '', collation, negate: negate === 'yes' };
  // match-type is CardDAV's (RFC 6352 §10.5.4); accepted here too since clients reuse their code.
  const matchType = el.getAttribute('match-type');
  if (matchType) {
    if (!['equals', 'contains', 'starts-with', 'ends-with'].includes(matchType)) throw invalid(`unknown match-type ${matchType}`);
    match.matchType = matchType as MatchType;
  }
  return match;
}

/** RFC 4791 §9.9: UTC start and/or end; at least one. An end not after the start is refused. */
export function parseTimeRange(el: Element): TimeRange {
  const range: TimeRange = {};
  for (const side of ['start', 'end'] as const) {
    const raw = el.getAttribute(side);
    if (!raw) continue;
    const date = parseUtc(raw);
    if (!date) throw invalid(`time-range ${side} must be a UTC date-time such as 20060104T000000Z, not ${raw}`);
    range[side] = date;
  }
  if (!range.start && !range.end) throw invalid('time-range needs a start or an end');
  if (range.start && range.end && range.end <= range.start) throw invalid('time-range end must be after its start');
  return range;
}

/**
 * The CALDAV:timezone element of a calendar-query (RFC 4791 §9.8): a VCALENDAR holding one
 * VTIMEZONE. Returns the text, ready to pass as `defaultTimezone`.
 */
export function parseQueryTimezone(el: Element): string {
  const text = el.textContent ?? '';
  try {
    const root = new ICAL.Component(ICAL.parse(text) as unknown[]);
    if (root.name === 'vcalendar' && root.getAllSubcomponents('vtimezone').length === 1) return text;
  } catch {
    // refused below
  }
  throw new FilterError('valid-calendar-data', 'timezone must be a VCALENDAR with exactly one VTIMEZONE');
}

/**
 * What an SQL index can answer: the top-level component type and an overall time range.
 * `exact` true when matching these alone is the whole answer (no other conditions), so the
 * caller can skip parsing objects. The time range is that of RFC 4791 §9.9: against the index
 * it is necessary, not sufficient — an object can match only if
 * (firstStart IS NULL OR firstStart <= range.end) AND (lastEnd IS NULL OR lastEnd >= range.start),
 * and recurring objects, open or unknown bounds and boundary instants still need matchesFilter.
 */
export function prefilter(filter: CompFilter): { componentType?: ComponentType; timeRange?: TimeRange; exact: boolean } {
  if (filter.name !== 'VCALENDAR' || filter.isNotDefined) return { exact: false };
  const positive = filter.compFilters.filter((c) => !c.isNotDefined && isComponentType(c.name));
  const only = filter.compFilters.length === 1 ? positive[0] : undefined;
  const first = positive[0];
  if (!first) return { exact: filter.compFilters.length === 0 && filter.propFilters.length === 0 };
  const result: { componentType?: ComponentType; timeRange?: TimeRange; exact: boolean } = {
    componentType: first.name as ComponentType,
    exact: !!only && filter.propFilters.length === 0 && only.propFilters.length === 0 && only.compFilters.length === 0,
  };
  if (first.timeRange) result.timeRange = first.timeRange;
  return result;
}

function nameOf(el: Element): string {
  const name = el.getAttribute('name');
  if (!name) throw invalid(`${el.localName} needs a name`);
  return name.toUpperCase();
}

/** Children in the CalDAV namespace; elements of other namespaces are extensions we ignore. */
function caldavChildren(el: Element): Element[] {
  return children(el).filter((c) => namespaceOf(c) === CALDAV);
}

function invalid(message: string): FilterError {
  return new FilterError('valid-filter', message);
}
