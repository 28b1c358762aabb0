import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import {
  AddressFilterError,
  foldForCollation,
  matchesAddressFilter,
  parseAddressFilter,
  type AddressFilter,
} from '../src/dav/carddav/vcard/filter.js';
import { parseXml } from '../src/dav/xml/parse.js';

// Every expected match is worked out by hand from the fixtures (test/fixtures/vcard/).

const CR = 'urn:ietf:params:xml:ns:carddav';
const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/vcard/${name}`, import.meta.url), 'utf8');
const ios = fixture('ios-contact.vcf');
const iosGroup = fixture('ios-group.vcf');
const davx5 = fixture('davx5-contact.vcf');
const davx5Group = fixture('davx5-group.vcf');
const tb = fixture('thunderbird.vcf');

function filter(inner: string, test?: string): AddressFilter {
  return parseAddressFilter(parseXml(`<C:filter xmlns:C="${CR}"${test ? ` test="${test}"` : ''}>${inner}</C:filter>`));
}
/** One prop-filter with one text-match; `attrs` are the text-match attributes. */
function text(prop: string, value: string, attrs = ''): AddressFilter {
  return filter(`<C:prop-filter name="${prop}"><C:text-match${attrs ? ` ${attrs}` : ''}>${value}</C:text-match></C:prop-filter>`);
}
function refused(inner: string, condition: AddressFilterError['condition']): void {
  assert.throws(
    () => filter(inner),
    (e: unknown) => e instanceof AddressFilterError && e.condition === condition,
    `expected ${condition}`,
  );
}

test('parses with the RFC 6352 §10.5 defaults', () => {
  assert.deepEqual(filter('<C:prop-filter name="fn"><C:text-match>anna</C:text-match></C:prop-filter>'), {
    test: 'anyof',
    propFilters: [
      {
        name: 'FN',
        test: 'anyof',
        isNotDefined: false,
        textMatches: [{ value: 'anna', collation: 'i;unicode-casemap', matchType: 'contains', negate: false }],
        paramFilters: [],
      },
    ],
  });
  assert.deepEqual(
    filter(
      `<C:prop-filter name="TEL" test="allof">
         <C:text-match collation="i;octet" match-type="starts-with" negate-condition="yes">+1</C:text-match>
         <C:param-filter name="TYPE"><C:text-match match-type="equals">work</C:text-match></C:param-filter>
         <C:param-filter name="X-FOO"><C:is-not-defined/></C:param-filter>
       </C:prop-filter>
       <C:prop-filter name="NICKNAME"><C:is-not-defined/></C:prop-filter>`,
      'allof',
    ),
    {
      test: 'allof',
      propFilters: [
        {
          name: 'TEL',
          test: 'allof',
          isNotDefined: false,
          textMatches: [{ value: '+1', collation: 'i;octet', matchType: 'starts-with', negate: true }],
          paramFilters: [
            { name: 'TYPE', isNotDefined: false, textMatch: { value: 'work', collation: 'i;unicode-casemap', matchType: 'equals', negate: false } },
            { name: 'X-FOO', isNotDefined: true },
          ],
        },
        { name: 'NICKNAME', test: 'anyof', isNotDefined: true, textMatches: [], paramFilters: [] },
      ],
    },
  );
});

test('refusals: supported-collation and supported-filter', () => {
  refused('<C:prop-filter name="FN"><C:text-match collation="i;basic">x</C:text-match></C:prop-filter>', 'supported-collation');
  refused('<C:prop-filter name="FN"><C:text-match match-type="regex">x</C:text-match></C:prop-filter>', 'supported-filter');
  refused('<C:prop-filter name="FN"><C:text-match negate-condition="maybe">x</C:text-match></C:prop-filter>', 'supported-filter');
  refused('<C:prop-filter><C:text-match>x</C:text-match></C:prop-filter>', 'supported-filter');
  refused('<C:prop-filter name="FN" test="oneof"/>', 'supported-filter');
  refused('<C:prop-filter name="FN"><C:is-not-defined/><C:text-match>x</C:text-match></C:prop-filter>', 'supported-filter');
  refused('<C:comp-filter name="VCARD"/>', 'supported-filter');
  assert.throws(() => filter('', 'some'), (e: unknown) => e instanceof AddressFilterError && e.condition === 'supported-filter');
});

test('an empty filter matches everything', () => {
  for (const card of [ios, iosGroup, davx5, davx5Group, tb]) {
    assert.equal(matchesAddressFilter(card, filter('')), true);
    assert.equal(matchesAddressFilter(card, filter('', 'allof')), true);
  }
});

test('collations: i;unicode-casemap (default), i;ascii-casemap, i;octet', () => {
  assert.equal(matchesAddressFilter(ios, text('FN', 'APPLESEED')), true); // FN "Dr. Johnny Q. Appleseed Jr."
  assert.equal(matchesAddressFilter(ios, text('FN', 'APPLESEED', 'collation="i;ascii-casemap"')), true);
  assert.equal(matchesAddressFilter(ios, text('FN', 'APPLESEED', 'collation="i;octet"')), false);
  assert.equal(matchesAddressFilter(ios, text('FN', 'Appleseed', 'collation="i;octet"')), true);
  // Non-ASCII: Unicode casemap folds É/é, ASCII casemap does not.
  const cafe = 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Éloïse Café\r\nUID:e\r\nEND:VCARD\r\n';
  assert.equal(matchesAddressFilter(cafe, text('FN', 'éloïse')), true);
  assert.equal(matchesAddressFilter(cafe, text('FN', 'éloïse', 'collation="i;ascii-casemap"')), false);
  assert.equal(matchesAddressFilter(cafe, text('FN', 'CAFé', 'collation="i;ascii-casemap"')), true);
  // Unicode casemap compares composed and decomposed forms alike (NFC).
  assert.equal(matchesAddressFilter(cafe, text('FN', 'cafe\u0301')), true);
});

test('foldForCollation', () => {
  // The shared fold of src/dav/collation.ts: RFC 5051 case folding then NFKD; ASCII letters only
  // for i;ascii-casemap (RFC 4790 §9.2). Composed and decomposed input fold alike.
  assert.equal(foldForCollation('ÉLOÏSE Ab', 'i;unicode-casemap'), 'éloïse ab'.normalize('NFKD'));
  assert.equal(foldForCollation('E\u0301', 'i;unicode-casemap'), foldForCollation('é', 'i;unicode-casemap'));
  assert.equal(foldForCollation('ÉLOÏSE Ab', 'i;ascii-casemap'), foldForCollation('ÉLOÏSE AB', 'i;ascii-casemap'));
  assert.notEqual(foldForCollation('É', 'i;ascii-casemap'), foldForCollation('é', 'i;ascii-casemap'));
  assert.equal(foldForCollation('ÉLOÏSE Ab', 'i;octet'), 'ÉLOÏSE Ab');
});

test('match types', () => {
  // EMAIL johnny@apple.example / jo@home.example
  assert.equal(matchesAddressFilter(ios, text('EMAIL', 'jo@home.example', 'match-type="equals"')), true);
  assert.equal(matchesAddressFilter(ios, text('EMAIL', 'jo@home', 'match-type="equals"')), false);
  assert.equal(matchesAddressFilter(ios, text('EMAIL', 'apple')), true);
  assert.equal(matchesAddressFilter(ios, text('EMAIL', 'JOHNNY@', 'match-type="starts-with"')), true);
  assert.equal(matchesAddressFilter(ios, text('EMAIL', 'apple', 'match-type="starts-with"')), false);
  assert.equal(matchesAddressFilter(ios, text('EMAIL', '.example', 'match-type="ends-with"')), true);
  assert.equal(matchesAddressFilter(ios, text('EMAIL', 'apple', 'match-type="ends-with"')), false);
  // N and ADR compare as the whole value text.
  assert.equal(matchesAddressFilter(ios, text('N', 'Appleseed;Johnny', 'match-type="starts-with"')), true);
  assert.equal(matchesAddressFilter(ios, text('ADR', 'cupertino')), true);
  // Escapes are undone before comparing: NOTE "Likes \;semicolons\; and \,commas".
  assert.equal(matchesAddressFilter(tb, text('NOTE', 'likes ;semicolons; and ,commas', 'match-type="equals"')), true);
});

test('negate-condition', () => {
  // Thunderbird has one EMAIL: max@example.org
  assert.equal(matchesAddressFilter(tb, text('EMAIL', 'example.org', 'negate-condition="yes"')), false);
  assert.equal(matchesAddressFilter(tb, text('EMAIL', 'example.com', 'negate-condition="yes"')), true);
  // A negated text-match still needs the property: the Apple group has no EMAIL.
  assert.equal(matchesAddressFilter(iosGroup, text('EMAIL', 'x', 'negate-condition="yes"')), false);
  // Per instance: iOS has one EMAIL without "home", so "does not contain home" holds.
  assert.equal(matchesAddressFilter(ios, text('EMAIL', 'home', 'negate-condition="yes"')), true);
});

test('grouped properties match by name (item1.TEL is TEL); TEL also matches on digits', () => {
  // item1.TEL;type=pref:+1 (408) 555-0100
  assert.equal(matchesAddressFilter(ios, text('TEL', '555-0100')), true);
  assert.equal(matchesAddressFilter(ios, text('tel', '4085550100')), true);
  assert.equal(matchesAddressFilter(ios, text('TEL', '+1 408 555 0100', 'match-type="equals"')), true);
  assert.equal(matchesAddressFilter(ios, text('TEL', '1408', 'match-type="starts-with"')), true);
  assert.equal(matchesAddressFilter(ios, text('TEL', '5550199', 'match-type="ends-with"')), true);
  assert.equal(matchesAddressFilter(ios, text('TEL', '0000')), false);
  assert.equal(matchesAddressFilter(ios, text('X-ABLABEL', 'mobile')), true);
  assert.equal(matchesAddressFilter(ios, text('item1.X-ABLabel', 'mobile')), true);
  assert.equal(matchesAddressFilter(ios, text('item2.X-ABLabel', 'mobile')), false);
  // DAVx5 tel: URI "tel:+49-30-1234567"
  assert.equal(matchesAddressFilter(davx5, text('TEL', '+49 30 1234567', 'match-type="equals"')), true);
});

test('param-filter', () => {
  const typeWork = (prop: string, extra = '') =>
    filter(`<C:prop-filter name="${prop}" test="allof">${extra}<C:param-filter name="TYPE"><C:text-match match-type="equals">work</C:text-match></C:param-filter></C:prop-filter>`);
  // iOS: EMAIL;type=INTERNET;type=WORK;type=pref — the values of repeated TYPE parameters add up.
  assert.equal(matchesAddressFilter(ios, typeWork('EMAIL')), true);
  // The same instance must satisfy both conditions under allof: the WORK email is johnny@…
  assert.equal(matchesAddressFilter(ios, typeWork('EMAIL', '<C:text-match>johnny</C:text-match>')), true);
  assert.equal(matchesAddressFilter(ios, typeWork('EMAIL', '<C:text-match>jo@home</C:text-match>')), false);
  // DAVx5: TEL;VALUE=uri;TYPE=work; Thunderbird: TEL;TYPE=work;VALUE=TEXT:030 1234567
  assert.equal(matchesAddressFilter(davx5, typeWork('TEL', '<C:text-match>+49301234567</C:text-match>')), true);
  assert.equal(matchesAddressFilter(tb, typeWork('TEL', '<C:text-match>0171</C:text-match>')), false);
  assert.equal(matchesAddressFilter(tb, typeWork('TEL', '<C:text-match>030</C:text-match>')), true);
  // Defined / not defined: Thunderbird's EMAIL has PREF but no TYPE.
  assert.equal(matchesAddressFilter(tb, filter('<C:prop-filter name="EMAIL"><C:param-filter name="pref"/></C:prop-filter>')), true);
  assert.equal(matchesAddressFilter(tb, filter('<C:prop-filter name="EMAIL"><C:param-filter name="TYPE"/></C:prop-filter>')), false);
  assert.equal(matchesAddressFilter(tb, filter('<C:prop-filter name="EMAIL"><C:param-filter name="TYPE"><C:is-not-defined/></C:param-filter></C:prop-filter>')), true);
  // A negated parameter text-match: no TYPE value equals "home" on Thunderbird's work ADR.
  assert.equal(
    matchesAddressFilter(tb, filter('<C:prop-filter name="ADR"><C:param-filter name="TYPE"><C:text-match negate-condition="yes">home</C:text-match></C:param-filter></C:prop-filter>')),
    true,
  );
});

test('is-not-defined and defined-only prop-filters', () => {
  const kindGroup = filter('<C:prop-filter name="X-ADDRESSBOOKSERVER-KIND"/>');
  assert.equal(matchesAddressFilter(iosGroup, kindGroup), true);
  assert.equal(matchesAddressFilter(ios, kindGroup), false);
  const noNickname = filter('<C:prop-filter name="NICKNAME"><C:is-not-defined/></C:prop-filter>');
  assert.equal(matchesAddressFilter(ios, noNickname), false);
  assert.equal(matchesAddressFilter(davx5, noNickname), true);
  assert.equal(matchesAddressFilter(davx5Group, filter('<C:prop-filter name="KIND"><C:text-match match-type="equals">group</C:text-match></C:prop-filter>')), true);
  assert.equal(matchesAddressFilter(davx5Group, filter('<C:prop-filter name="N"><C:is-not-defined/></C:prop-filter>')), true);
});

test('anyof / allof, on the filter and within a prop-filter', () => {
  const two = '<C:prop-filter name="FN"><C:text-match>Erika</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match>privat</C:text-match></C:prop-filter>';
  const mixed = '<C:prop-filter name="FN"><C:text-match>Erika</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match>nowhere</C:text-match></C:prop-filter>';
  assert.equal(matchesAddressFilter(davx5, filter(two, 'allof')), true);
  assert.equal(matchesAddressFilter(davx5, filter(mixed, 'allof')), false);
  assert.equal(matchesAddressFilter(davx5, filter(mixed)), true);
  assert.equal(matchesAddressFilter(tb, filter(mixed)), false);
  // Several text-matches in one prop-filter combine with its test.
  const both = (t: string) => filter(`<C:prop-filter name="FN" test="${t}"><C:text-match>max</C:text-match><C:text-match>erika</C:text-match></C:prop-filter>`);
  assert.equal(matchesAddressFilter(tb, both('anyof')), true);
  assert.equal(matchesAddressFilter(tb, both('allof')), false);
  const bothMax = filter('<C:prop-filter name="FN" test="allof"><C:text-match match-type="starts-with">max</C:text-match><C:text-match match-type="ends-with">mann</C:text-match></C:prop-filter>');
  assert.equal(matchesAddressFilter(tb, bothMax), true);
});
