import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { httpDate } from '../src/dav/http-date.js';

test('HTTP dates are written as toUTCString writes them: edges of days, months, leap years, eras', () => {
  for (const iso of [
    '1970-01-01T00:00:00Z',
    '1969-12-31T23:59:59.999Z',
    '1994-11-06T08:49:37Z',
    '2000-02-29T12:00:00Z',
    '2100-02-28T23:59:59Z',
    '2100-03-01T00:00:00Z',
    '2026-11-26T22:10:05.500Z',
    '1000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '0999-12-31T23:59:59Z',
    '+010000-01-01T00:00:00Z',
    '-000001-06-15T00:00:00Z',
  ]) {
    const date = new Date(iso);
    assert.equal(httpDate(date), date.toUTCString(), iso);
  }
  assert.equal(httpDate(new Date(784111777000)), 'Sun, 06 Nov 1994 08:49:37 GMT'); // RFC 9110 §5.6.7's own example
  assert.equal(httpDate(new Date(Number.NaN)), 'Invalid Date');
});

test('HTTP dates match toUTCString for any instant from year 1 to 9999', () => {
  fc.assert(
    fc.property(fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }), (ms) => {
      const date = new Date(ms);
      assert.equal(httpDate(date), date.toUTCString());
    }),
    { numRuns: 20_000 },
  );
});
