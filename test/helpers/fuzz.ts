/**
 * fast-check generators for the hostile-input tests (test/fuzz.*.test.ts): random garbage, and
 * structured mutations of valid inputs (XML request bodies, iCalendar and vCard objects, paths,
 * headers) — elements dropped, duplicated, renamed, moved to another namespace, given huge or
 * odd values; lines dropped, duplicated, swapped, re-folded; dates and RRULEs mutated.
 *
 * FUZZ_RUNS=<n> runs each property n times instead of its CI default; FUZZ_SEED=<n> replays a run.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { DOMParser, XMLSerializer, type Element, type Node as DomNode } from '@xmldom/xmldom';
import fc from 'fast-check';

export { fc };

const DAV = 'DAV:';
const CALDAV = 'urn:ietf:params:xml:ns:caldav';
const CARDDAV = 'urn:ietf:params:xml:ns:carddav';

/** Options for fc.assert: the CI default number of runs unless FUZZ_RUNS says otherwise. */
export function fuzzOptions(ciRuns: number): { numRuns: number; seed?: number; endOnFailure: true; includeErrorInReport: true } {
  const runs = Number(process.env.FUZZ_RUNS);
  const seed = Number(process.env.FUZZ_SEED);
  return { numRuns: Number.isInteger(runs) && runs > 0 ? runs : ciRuns, ...(Number.isInteger(seed) ? { seed } : {}), endOnFailure: true, includeErrorInReport: true };
}

/** A per-process counter for unique names, so cases never collide with one another. */
let counter = 0;
export function unique(prefix: string): string {
  return `${prefix}${++counter}`;
}

// ---------------------------------------------------------------------------------------------
// Odd values

/** Stands for a character reference in generated values; see mutatedXml. */
const CHARREF = '\uE123charref\uE123';

const ODD_CONSTANTS = [
  '', ' ', '\t', '0', '-1', '1', '99999999999999999999', '-0', '1e309', 'NaN', 'Infinity', 'yes', 'T', 'F', 'infinity', 'Infinite',
  '😀', '\u202e', 'e\u0301', '\ufffe', '\ud800', 'İı', 'ß', '\u0085', '\u2028', 'ǅ', '\u0000', '\u001b[31m', '<', '&amp;', ']]>', '"\'',
  '20060104T000000Z', '20060104T000000', '20060104', '00000101T000000Z', '99991231T235959Z', '20060230T000000Z', '2006-01-04T00:00:00Z',
  '20060104T250000Z', '19000101T000000Z', '21000101T000000Z', '1970', 'P1D', '-PT15M', 'P99999999W',
  '/dav/files/alice/', '/dav/files/bob/x', '/dav/calendars/alice/personal/a.ics', 'http://other.example/dav/', '../../etc/passwd',
  '%2e%2e/', '/dav/calendars/alice/personal/%00', 'data:,x', 'http://sync.example/1', 'urn:uuid:00000000', 'opaquelocktoken:x',
  // Replaced by a character reference after serialising (mutatedXml), which would escape the '&'.
  `a${CHARREF}b`, CHARREF,
];

/** Garbage text: any code points (lone surrogates included), control characters, or plain ASCII. */
export const garbage: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.string({ unit: 'binary-ascii', maxLength: 200 }),
);

/** A value a field might hold and a parser might choke on. */
export const oddValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...ODD_CONSTANTS) },
  { weight: 2, arbitrary: garbage },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(100_000), '9'.repeat(400), 'Ω'.repeat(5_000), '&#0;', '&#xD800;', '&#x10FFFF;') },
  { weight: 1, arbitrary: fc.integer().map(String) },
);

// ---------------------------------------------------------------------------------------------
// XML request bodies

const NAMESPACES = [DAV, CALDAV, CARDDAV, '', 'urn:x-fuzz', 'http://apple.com/ns/ical/', 'http://calendarserver.org/ns/', 'dav:', 'DAV: '];
const ELEMENT_NAMES = [
  'prop', 'propfind', 'allprop', 'propname', 'include', 'set', 'remove', 'propertyupdate', 'displayname', 'resourcetype',
  'collection', 'calendar', 'addressbook', 'getetag', 'getcontenttype', 'calendar-data', 'address-data', 'comp', 'expand',
  'limit-recurrence-set', 'limit-freebusy-set', 'filter', 'comp-filter', 'prop-filter', 'param-filter', 'text-match', 'time-range',
  'is-not-defined', 'href', 'sync-token', 'sync-level', 'limit', 'nresults', 'lockinfo', 'lockscope', 'exclusive', 'shared',
  'locktype', 'write', 'owner', 'calendar-timezone', 'supported-calendar-component-set', 'calendar-multiget', 'calendar-query',
  'free-busy-query', 'addressbook-query', 'addressbook-multiget', 'sync-collection', 'mkcol', 'mkcalendar', 'calendar-color',
  'quota-used-bytes', 'getlastmodified', 'lockdiscovery', 'supportedlock', 'current-user-principal', 'x',
];
const ATTRIBUTE_NAMES = ['name', 'start', 'end', 'test', 'collation', 'negate-condition', 'match-type', 'content-type', 'version', 'xml:lang', 'novalue', 'xmlns'];

type XmlMutation =
  | { kind: 'drop' | 'duplicate' | 'unwrap'; at: number }
  | { kind: 'renamespace'; at: number; ns: string }
  | { kind: 'rename'; at: number; name: string }
  | { kind: 'text'; at: number; value: string }
  | { kind: 'attr'; at: number; name: string; value: string }
  | { kind: 'insert' | 'wrap'; at: number; ns: string; name: string; value: string }
  | { kind: 'move'; at: number; to: number }
  | { kind: 'reference'; at: number; inAttribute: boolean };

const xmlMutation: fc.Arbitrary<XmlMutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('drop' as const, 'duplicate' as const, 'unwrap' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('renamespace' as const), at: fc.nat(), ns: fc.constantFrom(...NAMESPACES) }),
  fc.record({ kind: fc.constant('rename' as const), at: fc.nat(), name: fc.constantFrom(...ELEMENT_NAMES) }),
  fc.record({ kind: fc.constant('text' as const), at: fc.nat(), value: oddValue }),
  fc.record({ kind: fc.constant('attr' as const), at: fc.nat(), name: fc.constantFrom(...ATTRIBUTE_NAMES), value: oddValue }),
  fc.record({ kind: fc.constantFrom('insert' as const, 'wrap' as const), at: fc.nat(), ns: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...ELEMENT_NAMES), value: oddValue }),
  fc.record({ kind: fc.constant('move' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('reference' as const), at: fc.nat(), inAttribute: fc.boolean() }),
);

function elementsOf(root: Element): Element[] {
  const out: Element[] = [];
  const walk = (el: Element): void => {
    out.push(el);
    for (let n: DomNode | null = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) walk(n as Element);
  };
  walk(root);
  return out;
}

function replaceElement(old: Element, ns: string, name: string): void {
  const doc = old.ownerDocument!;
  const fresh = doc.createElementNS(ns || null, name);
  while (old.firstChild) fresh.appendChild(old.firstChild);
  for (let i = 0; i < old.attributes.length; i++) {
    const a = old.attributes.item(i)!;
    if (a.name !== 'xmlns' && a.prefix !== 'xmlns') fresh.setAttributeNS(a.namespaceURI, a.name, a.value);
  }
  old.parentNode!.replaceChild(fresh, old);
}

function applyXmlMutation(root: Element, m: XmlMutation): void {
  const all = elementsOf(root);
  const el = all[m.at % all.length]!;
  const doc = root.ownerDocument!;
  const isRoot = el === root;
  switch (m.kind) {
    case 'drop':
      if (!isRoot) el.parentNode!.removeChild(el);
      break;
    case 'duplicate':
      if (!isRoot) el.parentNode!.insertBefore(el.cloneNode(true), el.nextSibling);
      break;
    case 'unwrap':
      if (!isRoot) {
        while (el.firstChild) el.parentNode!.insertBefore(el.firstChild, el);
        el.parentNode!.removeChild(el);
      }
      break;
    case 'renamespace':
      if (!isRoot) replaceElement(el, m.ns, el.localName ?? 'x');
      break;
    case 'rename':
      if (!isRoot) replaceElement(el, el.namespaceURI ?? '', m.name);
      break;
    case 'text':
      while (el.firstChild) el.removeChild(el.firstChild);
      el.appendChild(doc.createTextNode(m.value));
      break;
    case 'attr':
      if (m.name === 'xml:lang') el.setAttributeNS('http://www.w3.org/XML/1998/namespace', 'xml:lang', m.value);
      else if (m.name !== 'xmlns') el.setAttribute(m.name, m.value);
      break;
    case 'insert': {
      const fresh = doc.createElementNS(m.ns || null, m.name);
      if (m.value) fresh.appendChild(doc.createTextNode(m.value));
      el.appendChild(fresh);
      break;
    }
    case 'wrap':
      if (!isRoot) {
        const wrapper = doc.createElementNS(m.ns || null, m.name);
        el.parentNode!.replaceChild(wrapper, el);
        wrapper.appendChild(el);
      }
      break;
    case 'reference':
      if (m.inAttribute) el.setAttribute('name', `v${CHARREF}`);
      else el.appendChild(doc.createTextNode(`v${CHARREF}`));
      break;
    case 'move': {
      const to = all[m.to % all.length]!;
      // Never into itself or its own descendants.
      for (let p: DomNode | null = to; p; p = p.parentNode) if (p === el) return;
      if (!isRoot) to.appendChild(el);
      break;
    }
  }
}

/** Text-level damage done after serialising: cut short, or garbage spliced in. */
type RawMutation = { kind: 'none' } | { kind: 'truncate'; at: number } | { kind: 'splice'; at: number; text: string };
const rawMutation: fc.Arbitrary<RawMutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), text: fc.oneof(garbage, fc.constantFrom('<!DOCTYPE x>', '<![CDATA[', '&x;', '</', '<?xml version="1.0"?>', '\ufeff')) }) },
);

function applyRaw(text: string, m: RawMutation): string {
  if (m.kind === 'truncate') return text.slice(0, m.at % (text.length + 1));
  if (m.kind === 'splice') {
    const at = m.at % (text.length + 1);
    return text.slice(0, at) + m.text + text.slice(at);
  }
  return text;
}

/** Valid documents mutated: 0–6 structural mutations, then maybe text-level damage. */
export function mutatedXml(seeds: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(xmlMutation, { maxLength: 6 }), rawMutation, fc.constantFrom('&#0;', '&#x1;', '&#xD800;', '&#xFFFE;', '&#x10FFFF;', '&#65;', '&#x110000;'))
    .map(([seed, mutations, raw, reference]) => {
      const doc = new DOMParser().parseFromString(seed, 'text/xml');
      const root = doc.documentElement!;
      for (const m of mutations) applyXmlMutation(root, m);
      return applyRaw(new XMLSerializer().serializeToString(doc), raw).replaceAll(CHARREF, reference);
    });
}

/** Mostly structured mutations of the seeds, sometimes plain garbage. */
export function xmlBody(seeds: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 8, arbitrary: mutatedXml(seeds) }, { weight: 1, arbitrary: garbage }, { weight: 1, arbitrary: fc.constantFrom(...seeds) });
}

// ---------------------------------------------------------------------------------------------
// iCalendar and vCard bodies (line-based mutations)

const RRULES = [
  'FREQ=DAILY;COUNT=0', 'FREQ=YEARLY;BYYEARDAY=-366', 'FREQ=MONTHLY;BYDAY=5FR', 'FREQ=WEEKLY;INTERVAL=0', 'FREQ=HOURLY;UNTIL=19000101T000000Z',
  'FREQ=SECONDLY', 'FREQ=MINUTELY;COUNT=1000000', 'FREQ=DAILY;BYSETPOS=0', 'FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO', 'FREQ=FOO', '',
  'FREQ=DAILY;UNTIL=20060104', 'FREQ=MONTHLY;BYMONTHDAY=31;COUNT=10', 'FREQ=YEARLY;BYMONTH=13', 'FREQ=DAILY;WKST=XX',
  'FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30', 'FREQ=YEARLY;BYDAY=-53MO', 'FREQ=DAILY;COUNT=5;UNTIL=20070101T000000Z', 'FREQ=WEEKLY;BYDAY=',
  'FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1,1,400', 'FREQ=DAILY;INTERVAL=-1', 'FREQ=DAILY;COUNT=99999999999999999999', 'FREQ=YEARLY;BYHOUR=25',
];

const ICAL_LINES = [
  'RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30', 'EXDATE:20060105T100000Z', 'RDATE;VALUE=PERIOD:20060110T100000Z/20060110T110000Z',
  'RDATE;VALUE=PERIOD:20060110T100000Z/PT1H', 'BEGIN:VEVENT', 'END:VEVENT', 'END:VCALENDAR', 'BEGIN:VCALENDAR', 'RECURRENCE-ID:20060105T100000Z',
  'RECURRENCE-ID;RANGE=THISANDFUTURE:20060106T100000Z', 'DTSTART;TZID=Europe/Paris:20060104T100000', 'DTSTART;TZID=Nowhere/Zone:20060104T100000',
  'DTSTART;TZID=W. Europe Standard Time:20060104T100000', 'DTSTART;VALUE=DATE:20060104', 'DTEND:20050101T000000Z', 'DURATION:-P1D',
  'DURATION:P99999999W', 'DURATION:garbage', 'TRIGGER:-PT15M', 'TRIGGER;RELATED=END:PT0S', 'TRIGGER;VALUE=DATE-TIME:20060104T090000Z',
  'BEGIN:VALARM', 'END:VALARM', 'ACTION:DISPLAY', 'BEGIN:VTIMEZONE', 'END:VTIMEZONE', 'TZID:Europe/Paris', 'BEGIN:STANDARD', 'END:STANDARD',
  'TZOFFSETFROM:+0100', 'TZOFFSETTO:+9999', 'UID:', 'ATTENDEE;PARTSTAT=ACCEPTED:mailto:x@example.org', 'ORGANIZER:', 'X-FUZZ;X=";"":v',
  'BEGIN:VTODO', 'END:VTODO', 'DUE:20060105T000000Z', 'COMPLETED:garbage', 'BEGIN:VFREEBUSY', 'FREEBUSY:20060104T000000Z/PT1H',
  'BEGIN:VJOURNAL', 'STATUS:CANCELLED', 'TRANSP:TRANSPARENT', 'SEQUENCE:-1', 'CATEGORIES:a,b\\,c', 'SUMMARY;LANGUAGE=de:Ü',
  'METHOD:REQUEST', 'VERSION:3.0', 'PRODID:', 'CALSCALE:JULIAN',
];

const VCARD_LINES = [
  'VERSION:3.0', 'VERSION:4.0', 'VERSION:9', 'N:;;;;;;;;', 'FN:', 'EMAIL;TYPE=INTERNET:x@', 'TEL;VALUE=uri:tel:+1-555-0100',
  'PHOTO;ENCODING=b;TYPE=JPEG:!!!', 'PHOTO;VALUE=uri:data:image/png;base64,====', 'BDAY:--0229', 'BDAY:19990230', 'item1.EMAIL:a@b',
  'item1.X-ABLabel:_$!<Other>!$_', 'ADR:;;;', 'ADR;TYPE=home:;;a\\;b;;;;', 'KIND:group', 'MEMBER:urn:uuid:x', 'UID:', 'REV:garbage',
  'ORG:a;b;c\\;d', 'NOTE:' + 'n'.repeat(5000), 'BEGIN:VCARD', 'END:VCARD', 'CATEGORIES:,,,', 'NICKNAME:\u202e', 'TEL:+1 (555) 0100',
  'X-SOCIALPROFILE;TYPE=twitter:x', 'GEO:geo:1,2', 'TZ:-0500', 'LANG:xx', 'GENDER:Q', 'ANNIVERSARY:20060104T000000Z', 'CLIENTPIDMAP:1;urn:x',
  'EMAIL;PREF=0:a@b', 'EMAIL;TYPE="work,pref":a@b', 'N:Ü;ß;;;', 'FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=9C',
];

type LineMutation =
  | { kind: 'drop' | 'duplicate'; at: number }
  | { kind: 'swap'; at: number; to: number }
  | { kind: 'value'; at: number; value: string }
  | { kind: 'param'; at: number; param: string }
  | { kind: 'insert'; at: number; line: string }
  | { kind: 'digit'; at: number; pos: number; digit: string }
  | { kind: 'rrule'; at: number; rule: string };

function lineMutation(pool: readonly string[]): fc.Arbitrary<LineMutation> {
  return fc.oneof(
    fc.record({ kind: fc.constantFrom('drop' as const, 'duplicate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), to: fc.nat() }),
    fc.record({ kind: fc.constant('value' as const), at: fc.nat(), value: oddValue }),
    fc.record({
      kind: fc.constant('param' as const),
      at: fc.nat(),
      param: fc.constantFrom(';TZID=Nowhere/Zone', ';VALUE=DATE', ';VALUE=PERIOD', ';X="', ';TYPE=', ';=', ';VALUE=BINARY;ENCODING=BASE64', ';TZID="Europe/Paris"', ';RANGE=THISANDFUTURE', ';LANGUAGE='),
    }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), line: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: garbage }) }),
    fc.record({ kind: fc.constant('digit' as const), at: fc.nat(), pos: fc.nat(), digit: fc.constantFrom('0', '1', '2', '3', '9', 'Z', 'T', '-') }),
    fc.record({ kind: fc.constant('rrule' as const), at: fc.nat(), rule: fc.constantFrom(...RRULES) }),
  );
}

function applyLineMutation(lines: string[], m: LineMutation): void {
  if (lines.length === 0) return;
  const i = m.at % lines.length;
  const line = lines[i]!;
  const colon = line.indexOf(':');
  switch (m.kind) {
    case 'drop':
      lines.splice(i, 1);
      break;
    case 'duplicate':
      lines.splice(i, 0, line);
      break;
    case 'swap': {
      const j = m.to % lines.length;
      [lines[i], lines[j]] = [lines[j]!, line];
      break;
    }
    case 'value':
      lines[i] = (colon < 0 ? line : line.slice(0, colon)) + ':' + m.value;
      break;
    case 'param':
      if (colon > 0) lines[i] = line.slice(0, colon) + m.param + line.slice(colon);
      break;
    case 'insert':
      lines.splice(i, 0, m.line);
      break;
    case 'digit': {
      const digits = [...line.matchAll(/\d/g)].map((d) => d.index!);
      if (digits.length > 0) {
        const at = digits[m.pos % digits.length]!;
        lines[i] = line.slice(0, at) + m.digit + line.slice(at + 1);
      }
      break;
    }
    case 'rrule': {
      const rule = lines.findIndex((l) => l.startsWith('RRULE'));
      if (rule >= 0) lines[rule] = 'RRULE:' + m.rule;
      else lines.splice(i, 0, 'RRULE:' + m.rule);
      break;
    }
  }
}

/** How the mutated lines are put back together: line endings and folding (RFC 5545 §3.1). */
type Layout = { ending: '\r\n' | '\n' | '\r'; foldEvery: number; truncate: number | null };
const layout: fc.Arbitrary<Layout> = fc.record({
  ending: fc.oneof({ weight: 6, arbitrary: fc.constant('\r\n' as const) }, { weight: 1, arbitrary: fc.constantFrom('\n' as const, '\r' as const) }),
  foldEvery: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 80 }) }),
  truncate: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
});

function layOut(lines: string[], { ending, foldEvery, truncate }: Layout): string {
  // Folding by UTF-16 units may split a character: clients do it with bytes, which is worse.
  const fold = (l: string): string => (foldEvery === 0 ? l : (l.match(new RegExp(`[^]{1,${foldEvery}}`, 'g')) ?? ['']).join(ending + ' '));
  const text = lines.map(fold).join(ending) + ending;
  return truncate === null ? text : text.slice(0, truncate % (text.length + 1));
}

function mutatedLines(seeds: readonly string[], pool: readonly string[]): fc.Arbitrary<string> {
  return fc
    // Few mutations at a time, so that a good share of the results is still accepted and the
    // stored-object paths (index, queries, conversions) are exercised too.
    .tuple(fc.constantFrom(...seeds), fc.oneof(fc.array(lineMutation(pool), { maxLength: 2 }), fc.array(lineMutation(pool), { maxLength: 5 })), layout)
    .map(([seed, mutations, how]) => {
      const lines = seed.split(/\r\n/).filter((l) => l !== '');
      for (const m of mutations) applyLineMutation(lines, m);
      return layOut(lines, how);
    });
}

/** iCalendar objects: mutated seeds, sometimes garbage. Seeds are unfolded, CRLF-separated. */
export function icalBody(seeds: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 10, arbitrary: mutatedLines(seeds, ICAL_LINES) }, { weight: 1, arbitrary: garbage });
}

/** vCards: mutated seeds, sometimes garbage. */
export function vcardBody(seeds: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 10, arbitrary: mutatedLines(seeds, VCARD_LINES) }, { weight: 1, arbitrary: garbage });
}

// ---------------------------------------------------------------------------------------------
// Paths and headers

const SEGMENTS = [
  '..', '.', '%2e%2e', '%2E%2e', '.%2e', '%2e', 'a%2fb', '%2f', '%5c', '\\', '..\\..', '%00', 'a%00b', '%c0%ae%c0%ae', '%c0%af', '%e0%80%ae',
  '%ff', '%', '%zz', '%%', 'CON', 'aux.txt', 'a:b', 'trailing.', 'trailing%20', 'x'.repeat(300), '%F0%9F%98%80', 'ok.txt', 'sub', '..;',
  '%u002e', '%252e%252e', '?', '#', '%3F', '%23', ';', 'personal', 'contacts',
];

/** Request paths: DAV layout with hostile segments, owners and encodings, or plain garbage. */
export const hostilePath: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom('files', 'calendars', 'addressbooks', 'principals', 'x', '%66iles', ''),
        fc.constantFrom('alice', 'bob', 'nobody', '', '..', '%61lice', 'ALICE', 'alice%00'),
        fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent) }), { maxLength: 6 }),
        fc.boolean(),
        fc.constantFrom('', '', '?x=1', '?%zz', '#frag'),
      )
      .map(([space, owner, segments, slash, tail]) => `/dav/${space}/${owner}/${segments.join('/')}${slash ? '/' : ''}${tail}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('*', 'http://127.0.0.1/dav/files/alice/', '//dav/files/alice/', '/dav//files/alice/', '/' + 'a/'.repeat(2000), '/dav/files/alice/' + 'd/'.repeat(500)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => '/' + s) },
);

/** Header values, structured per header, plus garbage (raw bytes, so also CR, LF, NUL, 8-bit). */
export function headerValue(name: string, base: string): fc.Arbitrary<string> {
  const structured: Record<string, fc.Arbitrary<string>> = {
    Depth: fc.constantFrom('0', '1', 'infinity', 'Infinity', '2', '-1', '', ' 1', '1,1', '0x1'),
    Overwrite: fc.constantFrom('T', 'F', 't', 'f', '', 'TRUE', 'T, F'),
    Destination: fc.oneof(
      fc.constantFrom(
        `${base}/dav/files/alice/dest.txt`, `${base}/dav/files/bob/dest.txt`, `${base}/dav/files/alice/`, `${base}/dav/files/alice/../bob/x`,
        `${base}/dav/files/alice/%2e%2e/x`, `${base}/dav/calendars/alice/personal/x.ics`, `${base}/dav/principals/alice/`, 'http://other.example/dav/files/alice/x',
        '/dav/files/alice/rel.txt', 'dest.txt', '', 'http://[::1', `${base}/dav/files/alice/a%00b`, `${base}/dav/files/alice/CON`, 'mailto:x@example.org',
      ),
      hostilePath.map((p) => base + p),
    ),
    If: fc.oneof(
      fc.constantFrom('(<opaquelocktoken:x>)', '(Not <DAV:no-lock>)', '(["etag"])', '<http://x/> (<urn:x>)', '(', ')', '()', '(<>)', '(Not)', '([W/"x"] Not <a:b>)', '<dav/files/alice/> (<x>)'),
      fc.array(fc.constantFrom('(', ')', '<', '>', '[', ']', 'Not ', '"e"', 'opaquelocktoken:', ' ', 'W/', 'http://h/p'), { maxLength: 12 }).map((a) => a.join('')),
    ),
    Range: fc.constantFrom('bytes=0-0', 'bytes=-1', 'bytes=5-', 'bytes=9999999999999999999-', 'bytes=1-0', 'bytes=0-1,2-3,0-', 'bytes=-0', 'items=0-1', 'bytes=', 'bytes=a-b', 'bytes=0-' + '9'.repeat(30), 'bytes=' + '0-0,'.repeat(500)),
    Timeout: fc.constantFrom('Second-60', 'Infinite', 'Second-99999999999999999999', 'Second--1', 'Second-', 'Infinite, Second-4100000000', 'Minute-5', 'Second-0', 'Second-1e3'),
    Authorization: fc.oneof(
      fc.constantFrom('Basic', 'Basic ', 'Basic ====', 'Basic YWxpY2U=', 'Basic OmFsaWNl', 'Bearer x', 'Basic ' + 'A'.repeat(10_000), 'Basic YWxpY2U6AA==', 'basic\tYQ=='),
      fc.string({ unit: 'binary', maxLength: 40 }).map((s) => 'Basic ' + Buffer.from(s).toString('base64')),
    ),
  };
  return fc.oneof({ weight: 4, arbitrary: structured[name] ?? garbage }, { weight: 1, arbitrary: garbage });
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client: sends exactly the bytes given (fetch would normalise or refuse them)

export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** One request on its own connection; header values are sent as raw latin1 / UTF-8 bytes. */
export function rawRequest(
  url: string,
  request: { method: string; path: string; headers?: Record<string, string>; body?: string },
  timeoutMs = 15_000,
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
  for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
  if (body) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8');
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${request.method} ${request.path.slice(0, 200)}`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(body ? Buffer.concat([head, body]) : head);
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    // The server may close while we still write (e.g. a 413 before the body): what it answered counts.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!match) return reject(new Error(`no HTTP status line in answer to ${request.method} ${request.path.slice(0, 200)}: ${JSON.stringify(text.slice(0, 200))}`));
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(match[1]), head: text.slice(0, split), body: split < 0 ? '' : text.slice(split + 4) });
    });
  });
}

/**
 * Fails unless `text` is well-formed XML as a strict client parser sees it: any error xmldom
 * reports, and the characters XML 1.0 forbids (§2.2), which xmldom lets through.
 */
export function wellFormed(text: string, what: string): void {
  let error: string | undefined;
  try {
    new DOMParser({
      onError(level: string, message: string) {
        if (level !== 'warning') error ??= message;
      },
    }).parseFromString(text, 'text/xml');
  } catch (thrown) {
    // xmldom throws on fatal errors whatever onError does.
    error ??= (thrown as Error).message;
  }
  const forbidden = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/.exec(text);
  if (forbidden) error ??= `U+${forbidden[0].charCodeAt(0).toString(16).padStart(4, '0')} in the answer`;
  assert.equal(error, undefined, `${what}: not well-formed XML: ${text.slice(0, 500)}`);
}
