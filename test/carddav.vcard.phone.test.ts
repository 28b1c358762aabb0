import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPhoneRegion, telDigits, telE164 } from '../src/dav/carddav/vcard/phone.js';

test('telDigits keeps a leading + and drops tel: parameters', () => {
  assert.equal(telDigits('+1 (555) 123-4567'), '+15551234567');
  assert.equal(telDigits('tel:+1-555-0100;ext=2'), '+15550100');
  assert.equal(telDigits('030 1234567'), '0301234567');
});

test('telE164: international numbers always, national ones only with a region', () => {
  assert.equal(telE164('+44 20 7946 0958'), '+442079460958');
  assert.equal(telE164('tel:+49-30-123456;ext=7'), '+4930123456');
  assert.equal(telE164('020 7946 0958'), undefined);
  assert.equal(telE164('020 7946 0958', 'GB'), '+442079460958');
  assert.equal(telE164('030 123456', 'DE'), '+4930123456');
  // An international call prefix of the region counts as a country code.
  assert.equal(telE164('0049 30 123456', 'DE'), '+4930123456');
  // Too short to be a number of that country, or not a number at all.
  assert.equal(telE164('0042', 'GB'), undefined);
  assert.equal(telE164('call me', 'GB'), undefined);
});

test('isPhoneRegion knows ISO 3166 codes', () => {
  assert.equal(isPhoneRegion('GB'), true);
  assert.equal(isPhoneRegion('XX'), false);
});
