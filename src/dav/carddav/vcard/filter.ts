/**
 * The CARDDAV:filter of an addressbook-query (RFC 6352 §10.5) as a small AST, and its
 * evaluation against one stored vCard. Matching works on the content lines as sent
 * (lines.ts), so groups (item1.TEL) and parameters are seen exactly as the client wrote them.
 */
import type { Element } from '@xmldom/xmldom';
import { CARDDAV } from '../../xml/names.js';
import { children, namespaceOf } from '../../xml/parse.js';
import { PHONE_PATTERN, telDigits, telE164 } from './phone.js';
import { bareName, contentLines, unescapeValue, type ContentLine } from './lines.js';
import { fold, textMatches } from '../../collation.js';

export interface VTextMatch {
  value: string;
  collation: 'i;unicode-casemap' | 'i;ascii-casemap' | 'i;octet';
  matchType: 'equals' | 'contains' | 'starts-with' | 'ends-with';
  negate: boolean;
}
export interface VParamFilter {
  name: string;
  isNotDefined: boolean;
  textMatch?: VTextMatch;
}
export interface VPropFilter {
  name: string;
  test: 'anyof' | 'allof';
  isNotDefined: boolean;
  textMatches: VTextMatch[];
  paramFilters: VParamFilter[];
}
export interface AddressFilter {
  test: 'anyof' | 'allof';
  propFilters: VPropFilter[];
}

export type AddressFilterCondition = 'supported-filter' | 'supported-collation';

/** A filter the server refuses, naming the CARDDAV: precondition of RFC 6352 §8.6. */
export class AddressFilterError extends Error {
  constructor(
    readonly condition: AddressFilterCondition,
    message: string,
  ) {
    super(message);
    this.name = 'AddressFilterError';
  }
}

/** RFC 6352 §8.3 / RFC 4790: the collations a CardDAV server must support. */
export const ADDRESS_COLLATIONS: readonly VTextMatch['collation'][] = ['i;unicode-casemap', 'i;ascii-casemap', 'i;octet'];
const MATCH_TYPES: readonly VTextMatch['matchType'][] = ['equals', 'contains', 'starts-with', 'ends-with'];

/** From the CARDDAV:filter element (xmldom). RFC 6352 §10.5: test defaults to anyof. */
export function parseAddressFilter(filterElement: Element): AddressFilter {
  const filter: AddressFilter = { test: testOf(filterElement), propFilters: [] };
  for (const child of carddavChildren(filterElement)) {
    if (child.localName !== 'prop-filter') throw unsupported(`unexpected ${child.localName} in filter`);
    filter.propFilters.push(parsePropFilter(child));
  }
  return filter;
}

/** RFC 6352 §10.5.1: (is-not-defined | (text-match*, param-filter*)), test anyof by default. */
function parsePropFilter(el: Element): VPropFilter {
  const name = nameOf(el);
  const filter: VPropFilter = { name, test: testOf(el), isNotDefined: false, textMatches: [], paramFilters: [] };
  for (const child of carddavChildren(el)) {
    switch (child.localName) {
      case 'is-not-defined':
        filter.isNotDefined = true;
        break;
      case 'text-match':
        filter.textMatches.push(parseTextMatch(child));
        break;
      case 'param-filter':
        filter.paramFilters.push(parseParamFilter(child));
        break;
      case 'is-defined':
        break; // pre-RFC drafts; "defined" is the default
      default:
        throw unsupported(`unexpected ${child.localName} in prop-filter`);
    }
  }
  if (filter.isNotDefined && (filter.textMatches.length || filter.paramFilters.length)) {
    throw unsupported(`is-not-defined excludes other conditions in prop-filter ${name}`);
  }
  return filter;
}

/** RFC 6352 §10.5.2: (is-not-defined | text-match)?. */
function parseParamFilter(el: Element): VParamFilter {
  const name = nameOf(el);
  const filter: VParamFilter = { name, isNotDefined: false };
  for (const child of carddavChildren(el)) {
    if (child.localName === 'is-not-defined') filter.isNotDefined = true;
    else if (child.localName === 'text-match' && !filter.textMatch) filter.textMatch = parseTextMatch(child);
    else if (child.localName !== 'is-defined') throw unsupported(`unexpected ${child.localName} in param-filter ${name}`);
  }
  if (filter.isNotDefined && filter.textMatch) throw unsupported(`is-not-defined excludes text-match in param-filter ${name}`);
  return filter;
}

/** RFC 6352 §10.5.4: collation i;unicode-casemap, negate-condition no, match-type contains by default. */
function parseTextMatch(el: Element): VTextMatch {
  const collation = el.getAttribute('collation') || 'i;unicode-casemap';
  if (!(ADDRESS_COLLATIONS as readonly string[]).includes(collation)) {
    throw new AddressFilterError('supported-collation', `collation ${collation} is not supported`);
  }
  const negate = el.getAttribute('negate-condition') || 'no';
  if (negate !== 'yes' && negate !== 'no') throw unsupported(`negate-condition must be yes or no, not ${negate}`);
  const matchType = el.getAttribute('match-type') || 'contains';
  if (!(MATCH_TYPES as readonly string[]).includes(matchType)) throw unsupported(`unknown match-type ${matchType}`);
  return {
    value: el.textContent ?? '',
    collation: collation as VTextMatch['collation'],
    matchType: matchType as VTextMatch['matchType'],
    negate: negate === 'yes',
  };
}

/**
 * Folds a string for a collation (the shared fold of src/dav/collation.ts), so the index and
 * the matcher compare exactly the same forms.
 */
export function foldForCollation(value: string, collation: VTextMatch['collation']): string {
  return fold(value, collation);
}

/** Whether one value satisfies a text-match, negate-condition applied. */
export function textMatchHolds(value: string, match: VTextMatch): boolean {
  return compare(value, match) !== match.negate;
}

function compare(value: string, match: VTextMatch): boolean {
  return textMatches(value, match.value, match.collation, match.matchType);
}

export interface MatchOptions {
  /** The country of phone numbers written without a country code (PHONE_REGION), for E.164 matching. */
  phoneRegion?: string;
}

/**
 * Whether a stored vCard matches (RFC 6352 §10.5). A filter naming nothing matches all.
 * A prop-filter with conditions matches when one instance of the property satisfies them under
 * its test (so TYPE=work and a number refer to the same TEL); names ignore the group prefix.
 */
export function matchesAddressFilter(text: string, filter: AddressFilter, options: MatchOptions = {}): boolean {
  if (filter.propFilters.length === 0) return true;
  const lines = cardLines(text);
  const results = filter.propFilters.map((pf) => () => propFilterHolds(lines, pf, options));
  return filter.test === 'allof' ? results.every((r) => r()) : results.some((r) => r());
}

function propFilterHolds(lines: ContentLine[], filter: VPropFilter, options: MatchOptions): boolean {
  const wantGroup = filter.name.includes('.') ? filter.name.slice(0, filter.name.lastIndexOf('.')).toUpperCase() : null;
  const name = bareName(filter.name);
  const props = lines.filter((l) => l.name === name && (wantGroup === null || l.group?.toUpperCase() === wantGroup));
  if (filter.isNotDefined) return props.length === 0;
  if (filter.textMatches.length === 0 && filter.paramFilters.length === 0) return props.length > 0;
  return props.some((prop) => {
    const conditions = [
      ...filter.textMatches.map((m) => () => propertyTextHolds(prop, m, options)),
      ...filter.paramFilters.map((pf) => () => paramFilterHolds(prop, pf)),
    ];
    return filter.test === 'allof' ? conditions.every((c) => c()) : conditions.some((c) => c());
  });
}

/**
 * text-match on a property: the whole value, unescaped (N and ADR as "family;given;…").
 * For TEL, a pattern made only of phone characters also matches digit to digit, so
 * "555 1234" finds "+1 (555) 123-4", and in E.164 where both numbers' countries are known, so
 * "+44 20 7946 0958" finds "020 7946 0958" on a server in the UK; negate applies to the result.
 */
function propertyTextHolds(prop: ContentLine, match: VTextMatch, options: MatchOptions): boolean {
  const value = unescapeValue(prop.value);
  let hit = compare(value, match);
  if (!hit && prop.name === 'TEL' && PHONE_PATTERN.test(match.value)) {
    const pattern = telDigits(match.value);
    const digits = telDigits(value);
    hit = compare(digits, { ...match, value: pattern }) || (!pattern.startsWith('+') && compare(digits.replace(/^\+/, ''), { ...match, value: pattern }));
    if (!hit) {
      const [wanted, stored] = [telE164(match.value, options.phoneRegion), telE164(value, options.phoneRegion)];
      hit = wanted !== undefined && stored !== undefined && compare(stored, { ...match, value: wanted });
    }
  }
  return hit !== match.negate;
}

/** RFC 6352 §10.5.2: a text-match needs the parameter; it holds when one of its values matches. */
function paramFilterHolds(prop: ContentLine, filter: VParamFilter): boolean {
  const values = prop.params.get(filter.name.toUpperCase());
  if (filter.isNotDefined) return values === undefined;
  if (values === undefined) return false;
  const match = filter.textMatch;
  if (!match) return true;
  return values.some((v) => compare(v, match)) !== match.negate;
}

/** The properties of the (first) vCard in the text, BEGIN/END excluded. */
function cardLines(text: string): ContentLine[] {
  const lines = contentLines(text);
  const begin = lines.findIndex((l) => l.name === 'BEGIN');
  const end = lines.findIndex((l, i) => i > begin && l.name === 'END');
  return lines.slice(begin + 1, end < 0 ? undefined : end);
}

function testOf(el: Element): 'anyof' | 'allof' {
  const test = el.getAttribute('test') || 'anyof';
  if (test !== 'anyof' && test !== 'allof') throw unsupported(`test must be anyof or allof, not ${test}`);
  return test;
}

function nameOf(el: Element): string {
  const name = el.getAttribute('name');
  if (!name) throw unsupported(`${el.localName} needs a name`);
  return name.toUpperCase();
}

/** Children in the CardDAV namespace; elements of other namespaces are extensions we ignore. */
function carddavChildren(el: Element): Element[] {
  return children(el).filter((c) => namespaceOf(c) === CARDDAV);
}

function unsupported(message: string): AddressFilterError {
  return new AddressFilterError('supported-filter', message);
}
