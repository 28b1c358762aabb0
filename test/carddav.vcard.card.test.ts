import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { parseVCard, VCardDataError, type VCardInfo } from '../src/dav/carddav/vcard/card.js';

// Expected values are written by hand from the fixtures (test/fixtures/vcard/*.vcf, CRLF, as
// iOS, DAVx5 and Thunderbird write them).

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/vcard/${name}`, import.meta.url), 'utf8');
const card = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;

function refused(text: string, condition: VCardDataError['condition']): void {
  assert.throws(
    () => parseVCard(text),
    (e: unknown) => e instanceof VCardDataError && e.condition === condition,
    `expected ${condition}`,
  );
}

test('iOS contact (3.0, grouped TEL, folded base64 PHOTO, X- properties)', () => {
  const expected: VCardInfo = {
    uid: '7E5AF5C4-5F0B-4F0E-9C62-6B1A2A9F0C11',
    version: '3.0',
    fn: 'Dr. Johnny Q. Appleseed Jr.',
    n: 'Appleseed;Johnny;Q.;Dr.;Jr.',
    nicknames: ['Jo', 'Johnny Boy'],
    emails: ['johnny@apple.example', 'jo@home.example'],
    tels: ['+1 (408) 555-0100', '408 555 0199'],
    telDigits: ['+14085550100', '4085550199'],
    orgs: ['Apple Inc.;Engineering'],
    kind: 'individual',
  };
  assert.deepEqual(parseVCard(fixture('ios-contact.vcf')), expected);
});

test('Apple group (X-ADDRESSBOOKSERVER-KIND:group)', () => {
  const info = parseVCard(fixture('ios-group.vcf'));
  assert.equal(info.kind, 'group');
  assert.equal(info.uid, '9A1E2B3C-4D5E-4F60-8172-93A4B5C6D7E8');
  assert.equal(info.fn, 'Climbing Club');
  assert.equal(info.n, 'Climbing Club');
  assert.deepEqual(info.emails, []);
});

test('DAVx5 contact (4.0, tel: URI, data: PHOTO)', () => {
  assert.deepEqual(parseVCard(fixture('davx5-contact.vcf')), {
    uid: 'urn:uuid:5b1f6c33-2a47-4c4e-9d7f-0f0e3e2b7a10',
    version: '4.0',
    fn: 'Erika Mustermann',
    n: 'Mustermann;Erika;;;',
    nicknames: [],
    emails: ['erika@firma.example', 'erika@privat.example'],
    tels: ['+49 170 1234567', 'tel:+49-30-1234567'],
    telDigits: ['+491701234567', '+49301234567'],
    orgs: ['Firma GmbH'],
    kind: 'individual',
  });
});

test('DAVx5 group (4.0 KIND:group, no N)', () => {
  const info = parseVCard(fixture('davx5-group.vcf'));
  assert.equal(info.kind, 'group');
  assert.equal(info.n, null);
  assert.equal(info.fn, 'Family');
  assert.equal(info.uid, 'urn:uuid:c0ffee00-1111-4222-8333-444455556666');
});

test('Thunderbird contact (4.0, escaped NOTE, national numbers)', () => {
  assert.deepEqual(parseVCard(fixture('thunderbird.vcf')), {
    uid: '3f2a9c4e-8b1d-4e6f-a0c2-5d7e9f1b3a6c',
    version: '4.0',
    fn: 'Max Mustermann',
    n: 'Mustermann;Max;;;',
    nicknames: ['Maxi'],
    emails: ['max@example.org'],
    tels: ['030 1234567', '0171 7654321'],
    telDigits: ['0301234567', '01717654321'],
    orgs: ['Example AG;R&D'],
    kind: 'individual',
  });
});

test('values are unescaped, unfolded; LF line ends accepted', () => {
  const info = parseVCard(
    ['BEGIN:VCARD', 'VERSION:3.0', 'FN:Smith\\, Anna', 'N:Smith;Anna;;;', 'ORG:Smith\\, Jones & Co', 'EMAIL:anna@exa', ' mple.org', 'UID:u1', 'END:VCARD', ''].join('\n'),
  );
  assert.equal(info.fn, 'Smith, Anna');
  assert.deepEqual(info.orgs, ['Smith, Jones & Co']);
  assert.deepEqual(info.emails, ['anna@example.org']);
});

test('KIND values other than group are kept, lower-cased', () => {
  assert.equal(parseVCard(card('BEGIN:VCARD', 'VERSION:4.0', 'KIND:Org', 'FN:Acme', 'UID:u', 'END:VCARD')).kind, 'org');
});

test('refusals name their RFC 6352 §6.3.2.1 precondition', () => {
  refused('this is not a vCard', 'valid-address-data');
  refused('', 'valid-address-data');
  refused(card('BEGIN:VCARD', 'VERSION:3.0', 'FN:x', 'UID:u'), 'valid-address-data'); // no END
  refused(card('BEGIN:VCALENDAR', 'VERSION:2.0', 'END:VCALENDAR'), 'valid-address-data');
  const one = card('BEGIN:VCARD', 'VERSION:3.0', 'FN:a', 'N:a;;;;', 'UID:a', 'END:VCARD');
  refused(one + one.replace(/UID:a/, 'UID:b'), 'valid-address-data'); // two vCards (RFC 6352 §5.1)
  refused(card('BEGIN:VCARD', 'VERSION:3.0', 'FN:a', 'N:a;;;;', 'END:VCARD'), 'valid-address-data'); // no UID
  refused(card('BEGIN:VCARD', 'VERSION:3.0', 'FN:a', 'UID:', 'END:VCARD'), 'valid-address-data'); // empty UID
  refused(card('BEGIN:VCARD', 'FN:a', 'UID:a', 'END:VCARD'), 'supported-address-data'); // no VERSION
  refused(card('BEGIN:VCARD', 'VERSION:2.1', 'TEL;CELL:123', 'FN:a', 'UID:a', 'END:VCARD'), 'supported-address-data');
  refused(card('BEGIN:VCARD', 'VERSION:5.0', 'FN:a', 'UID:a', 'END:VCARD'), 'supported-address-data');
});
