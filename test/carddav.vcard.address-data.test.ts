import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import {
  AddressDataRequestError,
  parseAddressDataRequest,
  renderAddressData,
  type AddressDataRequest,
} from '../src/dav/carddav/vcard/address-data.js';
import { parseVCard } from '../src/dav/carddav/vcard/card.js';
import { parseXml } from '../src/dav/xml/parse.js';

// Expected outputs are written by hand from the fixtures (test/fixtures/vcard/, CRLF).

const CR = 'urn:ietf:params:xml:ns:carddav';
const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/vcard/${name}`, import.meta.url), 'utf8');
const photo = fixture('photo.b64');
const crlf = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;
const FIXTURES = ['ios-contact.vcf', 'ios-group.vcf', 'davx5-contact.vcf', 'davx5-group.vcf', 'thunderbird.vcf'];

function request(attrs: string, inner = ''): AddressDataRequest {
  return parseAddressDataRequest(parseXml(`<C:address-data xmlns:C="${CR}" ${attrs}>${inner}</C:address-data>`));
}

/** Folds like the fixtures: 75 characters, then 74 after the leading space. */
function folded(line: string): string[] {
  const out = [line.slice(0, 75)];
  for (let i = 75; i < line.length; i += 74) out.push(` ${line.slice(i, i + 74)}`);
  return out;
}

test('parses address-data requests (RFC 6352 §10.4)', () => {
  assert.deepEqual(request(''), {});
  assert.deepEqual(request('', '<C:allprop/>'), {});
  assert.deepEqual(request('content-type="text/vcard" version="4.0"'), { contentType: 'text/vcard', version: '4.0' });
  assert.deepEqual(request('version="3.0"', '<C:prop name="fn"/><C:prop name="EMAIL"/><C:prop name="item1.TEL"/>'), { version: '3.0', props: ['FN', 'EMAIL', 'TEL'] });
  const refused = (attrs: string, inner: string, condition: AddressDataRequestError['condition']) =>
    assert.throws(
      () => request(attrs, inner),
      (e: unknown) => e instanceof AddressDataRequestError && e.condition === condition,
    );
  refused('content-type="application/vcard+json"', '', 'supported-address-data');
  refused('version="2.1"', '', 'supported-address-data');
  refused('', '<C:prop/>', undefined);
  refused('', '<C:allprop/><C:prop name="FN"/>', undefined);
  refused('', '<C:comp name="VCARD"/>', undefined);
});

test('no selection and the same version: the stored bytes unchanged', () => {
  for (const name of FIXTURES) {
    const text = fixture(name);
    assert.equal(renderAddressData(text, {}), text, name);
    assert.equal(renderAddressData(text, { version: parseVCard(text).version }), text, name);
  }
  const lf = 'BEGIN:VCARD\nVERSION:3.0\nFN:x\nUID:u\nEND:VCARD\n';
  assert.equal(renderAddressData(lf, { version: '3.0' }), lf);
});

test('prop selection keeps the selected lines byte for byte (grouping, folding, escapes)', () => {
  const ios = fixture('ios-contact.vcf');
  assert.equal(
    renderAddressData(ios, { props: ['TEL', 'EMAIL'] }),
    crlf(
      'BEGIN:VCARD',
      'VERSION:3.0',
      'EMAIL;type=INTERNET;type=WORK;type=pref:johnny@apple.example',
      'EMAIL;type=INTERNET;type=HOME:jo@home.example',
      'item1.TEL;type=pref:+1 (408) 555-0100',
      'TEL;type=WORK;type=VOICE:408 555 0199',
      'UID:7E5AF5C4-5F0B-4F0E-9C62-6B1A2A9F0C11',
      'END:VCARD',
    ),
  );
  assert.equal(
    renderAddressData(ios, { props: ['photo', 'NOTE'] }),
    crlf(
      'BEGIN:VCARD',
      'VERSION:3.0',
      'NOTE:Met at WWDC\\, 2019\\; bring coffee\\nSecond line',
      ...folded(`PHOTO;ENCODING=b;TYPE=JPEG:${photo}`),
      'UID:7E5AF5C4-5F0B-4F0E-9C62-6B1A2A9F0C11',
      'END:VCARD',
    ),
  );
  assert.equal(
    renderAddressData(ios, { props: ['X-ABLABEL'] }),
    crlf('BEGIN:VCARD', 'VERSION:3.0', 'item1.X-ABLabel:_$!<Mobile>!$_', 'UID:7E5AF5C4-5F0B-4F0E-9C62-6B1A2A9F0C11', 'END:VCARD'),
  );
  // Thunderbird's \; stays as sent (ical.js would re-serialise it).
  assert.equal(
    renderAddressData(fixture('thunderbird.vcf'), { props: ['NOTE'] }),
    crlf('BEGIN:VCARD', 'VERSION:4.0', 'NOTE:Likes \\;semicolons\\; and \\,commas', 'UID:3f2a9c4e-8b1d-4e6f-a0c2-5d7e9f1b3a6c', 'END:VCARD'),
  );
  // An empty selection still returns a vCard of the resource.
  assert.equal(
    renderAddressData(fixture('davx5-group.vcf'), { props: [] }),
    crlf('BEGIN:VCARD', 'VERSION:4.0', 'UID:urn:uuid:c0ffee00-1111-4222-8333-444455556666', 'END:VCARD'),
  );
});

test('3.0 → 4.0: iOS contact', () => {
  const out = renderAddressData(fixture('ios-contact.vcf'), { version: '4.0' });
  assert.equal(
    out,
    crlf(
      'BEGIN:VCARD',
      'VERSION:4.0',
      'PRODID:-//Apple Inc.//iPhone OS 17.2//EN',
      'N:Appleseed;Johnny;Q.;Dr.;Jr.',
      'FN:Dr. Johnny Q. Appleseed Jr.',
      'NICKNAME:Jo,Johnny Boy',
      'ORG:Apple Inc.;Engineering',
      'TITLE:Engineer',
      'EMAIL;TYPE=WORK;PREF=1:johnny@apple.example', // INTERNET dropped, pref → PREF=1
      'EMAIL;TYPE=HOME:jo@home.example',
      'item1.TEL;PREF=1:+1 (408) 555-0100',
      'item1.X-ABLabel:_$!<Mobile>!$_',
      'TEL;type=WORK;type=VOICE:408 555 0199', // unchanged line, unchanged bytes
      'item2.ADR;TYPE=HOME;PREF=1:;;1 Infinite Loop;Cupertino;CA;95014;United Stat',
      ' es',
      'item2.X-ABADR:us',
      'NOTE:Met at WWDC\\, 2019\\; bring coffee\\nSecond line',
      ...folded(`PHOTO:data:image/jpeg;base64,${photo}`),
      'X-SOCIALPROFILE;type=twitter:https://twitter.com/johnny',
      'UID:7E5AF5C4-5F0B-4F0E-9C62-6B1A2A9F0C11',
      'REV:2024-01-15T10:20:30Z',
      'END:VCARD',
    ),
  );
  assert.equal(parseVCard(out).version, '4.0');
});

test('3.0 → 4.0: Apple group becomes KIND:group with MEMBERs', () => {
  assert.equal(
    renderAddressData(fixture('ios-group.vcf'), { version: '4.0' }),
    crlf(
      'BEGIN:VCARD',
      'VERSION:4.0',
      'PRODID:-//Apple Inc.//AddressBook 14.0//EN',
      'N:Climbing Club',
      'FN:Climbing Club',
      'KIND:group',
      'MEMBER:urn:uuid:7E5AF5C4-5F0B-4F0E-9C62-6B1A2A9F0C11',
      'MEMBER:urn:uuid:0B3C0A5E-1D2C-4B5A-8F9E-112233445566',
      'REV:2024-01-15T10:21:00Z',
      'UID:9A1E2B3C-4D5E-4F60-8172-93A4B5C6D7E8',
      'END:VCARD',
    ),
  );
  // Converted, then selected.
  assert.equal(
    renderAddressData(fixture('ios-group.vcf'), { version: '4.0', props: ['KIND'] }),
    crlf('BEGIN:VCARD', 'VERSION:4.0', 'KIND:group', 'UID:9A1E2B3C-4D5E-4F60-8172-93A4B5C6D7E8', 'END:VCARD'),
  );
  assert.equal(parseVCard(renderAddressData(fixture('ios-group.vcf'), { version: '4.0' })).kind, 'group');
});

test('4.0 → 3.0: DAVx5 contact', () => {
  const out = renderAddressData(fixture('davx5-contact.vcf'), { version: '3.0' });
  assert.equal(
    out,
    crlf(
      'BEGIN:VCARD',
      'VERSION:3.0',
      'PRODID:+//IDN bitfire.at//ez-vcard 0.12.1',
      'UID:urn:uuid:5b1f6c33-2a47-4c4e-9d7f-0f0e3e2b7a10',
      'FN:Erika Mustermann',
      'N:Mustermann;Erika;;;',
      'TEL;TYPE=cell:+49 170 1234567',
      'TEL;TYPE=work:+49-30-1234567', // tel: URI → phone-number
      'EMAIL;TYPE=work,pref:erika@firma.example', // PREF=1 → TYPE=pref
      'EMAIL;TYPE=home:erika@privat.example',
      'ORG:Firma GmbH',
      ...folded(`PHOTO;ENCODING=b;TYPE=JPEG:${photo}`),
      'X-GENDER:F',
      'X-ANNIVERSARY:20100612',
      'REV:20240115T102030Z',
      'END:VCARD',
    ),
  );
  // The photo bytes survive the round trip 4.0 → 3.0 → 4.0.
  const back = renderAddressData(out, { version: '4.0', props: ['PHOTO'] });
  assert.equal(back, crlf('BEGIN:VCARD', 'VERSION:4.0', 'UID:urn:uuid:5b1f6c33-2a47-4c4e-9d7f-0f0e3e2b7a10', ...folded(`PHOTO:data:image/jpeg;base64,${photo}`), 'END:VCARD'));
});

test('4.0 → 3.0: DAVx5 group becomes an Apple group, N added from FN', () => {
  const out = renderAddressData(fixture('davx5-group.vcf'), { version: '3.0' });
  assert.equal(
    out,
    crlf(
      'BEGIN:VCARD',
      'VERSION:3.0',
      'PRODID:+//IDN bitfire.at//ez-vcard 0.12.1',
      'UID:urn:uuid:c0ffee00-1111-4222-8333-444455556666',
      'X-ADDRESSBOOKSERVER-KIND:group',
      'FN:Family',
      'N:Family;;;;',
      'X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:5b1f6c33-2a47-4c4e-9d7f-0f0e3e2b7a10',
      'X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:7E5AF5C4-5F0B-4F0E-9C62-6B1A2A9F0C11',
      'REV:20240115T102100Z',
      'END:VCARD',
    ),
  );
  const info = parseVCard(out);
  assert.equal(info.kind, 'group');
  assert.equal(info.version, '3.0');
});

test('4.0 → 3.0: Thunderbird contact keeps escapes as sent', () => {
  assert.equal(
    renderAddressData(fixture('thunderbird.vcf'), { version: '3.0' }),
    crlf(
      'BEGIN:VCARD',
      'VERSION:3.0',
      'EMAIL;TYPE=pref:max@example.org',
      'FN:Max Mustermann',
      'N:Mustermann;Max;;;',
      'NICKNAME:Maxi',
      'NOTE:Likes \\;semicolons\\; and \\,commas',
      'ADR;TYPE=work:;;Hauptstr. 1;Berlin;;10115;Germany',
      'TEL;TYPE=work:030 1234567',
      'TEL;TYPE=cell:0171 7654321',
      'ORG:Example AG;R&D',
      'X-CUSTOM1:blue',
      'UID:3f2a9c4e-8b1d-4e6f-a0c2-5d7e9f1b3a6c',
      'END:VCARD',
    ),
  );
});

test('3.0 → 4.0: removed properties go, bare 2.1-style TYPE gets its name, URI photos get MEDIATYPE', () => {
  const v3 = crlf(
    'BEGIN:VCARD',
    'VERSION:3.0',
    'N:Doe;Jane;;;',
    'FN:Jane Doe',
    'LABEL;TYPE=HOME:1 Main St',
    'CLASS:PUBLIC',
    'MAILER:Mutt',
    'SORT-STRING:Doe',
    'PHOTO;VALUE=uri;TYPE=PNG:https://example.org/jane.png',
    'UID:jane',
    'END:VCARD',
  );
  assert.equal(
    renderAddressData(v3, { version: '4.0' }),
    crlf('BEGIN:VCARD', 'VERSION:4.0', 'N:Doe;Jane;;;', 'FN:Jane Doe', 'PHOTO;MEDIATYPE=image/png:https://example.org/jane.png', 'UID:jane', 'END:VCARD'),
  );
  // LF-only input stays LF; bare TYPE values become TYPE=…
  assert.equal(
    renderAddressData('BEGIN:VCARD\nVERSION:3.0\nTEL;CELL;VOICE:123\nUID:u\nEND:VCARD\n', { version: '4.0' }),
    'BEGIN:VCARD\nVERSION:4.0\nTEL;TYPE=CELL,VOICE:123\nUID:u\nEND:VCARD\n',
  );
});
