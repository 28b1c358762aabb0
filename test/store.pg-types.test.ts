import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { parseTimestamptz } from '../src/store/pg-types.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const pgParser = pg.types.getTypeParser(1184, 'text') as (text: string) => Date | number;

/** The same instant as pg's own parser gives (or the same Infinity for infinity). */
function assertSameAsPg(text: string): void {
  const ours = parseTimestamptz(text) as Date | number;
  const theirs = pgParser(text);
  assert.equal(Number(ours), Number(theirs), text);
}

test('timestamptz text reads as pg reads it: fractions, offsets, edges', () => {
  for (const text of [
    '2026-01-05 09:00:00+00',
    '2026-01-05 09:00:00.1+00',
    '2026-01-05 09:00:00.123456+00',
    '2026-01-05 09:00:00.999999+00',
    '2026-11-26 04:15:39.5+05:30',
    '1999-12-31 23:59:59.000001-08',
    '1969-07-20 20:17:40-03:30',
    '0050-03-01 00:00:00+00',
    '0001-01-01 00:00:00+00 BC',
    '12026-01-01 00:00:00+00',
    '1900-01-01 00:00:00+00:09:21',
    'infinity',
    '-infinity',
  ]) {
    assertSameAsPg(text);
  }
});

test('timestamptz text reads as pg reads it: any instant and offset', () => {
  const two = (n: number) => String(n).padStart(2, '0');
  fc.assert(
    fc.property(
      fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_000 }),
      fc.integer({ min: 0, max: 999_999 }),
      fc.integer({ min: -15 * 60, max: 15 * 60 }),
      (ms, micros, offsetMinutes) => {
        const local = new Date(Math.floor(ms / 1000) * 1000 + offsetMinutes * 60_000);
        const date = local.toISOString().slice(0, 19).replace('T', ' ');
        const fraction = micros === 0 ? '' : '.' + String(micros).padStart(6, '0').replace(/0+$/, '');
        const sign = offsetMinutes < 0 ? '-' : '+';
        const abs = Math.abs(offsetMinutes);
        const offset = sign + two(Math.floor(abs / 60)) + (abs % 60 === 0 ? '' : ':' + two(abs % 60));
        assertSameAsPg(date + fraction + offset);
      },
    ),
    { numRuns: 2000 },
  );
});

let store: TestStore;
before(async () => (store = await openTestStore()));
after(() => store.close());

test('timestamps from the store come back as the instants stored', async () => {
  const instants = [new Date('2026-01-05T09:00:00.123Z'), new Date('1970-01-01T00:00:00Z'), new Date('2038-01-19T03:14:08.999Z')];
  for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns']) {
    const rows = await store.db.transaction(async (tx) => {
      await tx.query(`SET LOCAL TIME ZONE '${zone}'`);
      return tx.query<{ at: Date; text: string }>('SELECT at, at::text AS text FROM unnest($1::timestamptz[]) AS t(at)', [instants]);
    });
    assert.deepEqual(rows.map((r) => r.at.toISOString()), instants.map((d) => d.toISOString()), zone);
    for (const row of rows) assertSameAsPg(row.text);
  }
});
