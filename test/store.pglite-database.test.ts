/**
 * How the embedded store reads values (store/pglite-database.ts): a statement's first answer
 * comes as text, later ones in binary for the types that have a binary reader. Both must give
 * exactly what the text parsers (pg-types.ts) give, for any value, so rows are the same whichever
 * way they came — and the same as on PostgreSQL, where pg reads text.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { embeddedDatabaseDir } from '../src/store/open.js';
import { PgliteDatabase } from '../src/store/pglite-database.js';
import { PgliteThread } from '../src/store/pglite-thread.js';
import { types } from '../src/store/pg-types.js';
import { createTestLocation, type TestLocation } from './helpers/store.js';

let location: TestLocation;
let db: PgliteDatabase;
before(async () => {
  location = await createTestLocation({ migrated: true, embedded: true });
  const thread = await PgliteThread.start(embeddedDatabaseDir(location.dataDir));
  db = new PgliteDatabase(thread, () => thread.close(), () => undefined);
});
after(async () => {
  await db.close();
  await location.remove();
});

const parseText = (oid: number) => types.getTypeParser(oid, 'text') as (text: string) => unknown;

interface Sample {
  i8: bigint;
  i4: number;
  i2: number;
  flag: boolean;
  /** Microseconds since 1970-01-01 UTC. */
  micros: bigint;
  bytes: Uint8Array;
}

/** Each typed value beside its own text, from one statement (the same text every time, so its later answers are binary). */
const ROUND_TRIP = `SELECT $1::int8 AS i8, $1::int8::text AS i8_text,
  $2::int4 AS i4, $3::int2 AS i2, $4::bool AS flag,
  to_timestamp($5::numeric / 1000000) AS at, to_timestamp($5::numeric / 1000000)::text AS at_text,
  $6::bytea AS bytes, NULL::timestamptz AS nothing, ARRAY['a', 'b']::text[] AS words`;

async function roundTrip(sample: Sample): Promise<Record<string, unknown>> {
  const [row] = await db.query<Record<string, unknown>>(ROUND_TRIP, [sample.i8.toString(), sample.i4, sample.i2, sample.flag, sample.micros.toString(), Buffer.from(sample.bytes)]);
  return row!;
}

const samples = fc.record({
  i8: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  i4: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  i2: fc.integer({ min: -(2 ** 15), max: 2 ** 15 - 1 }),
  flag: fc.boolean(),
  // Year 1 to 9999, to the microsecond.
  micros: fc.bigInt({ min: -62_135_596_800_000_000n, max: 253_402_300_799_999_999n }),
  bytes: fc.uint8Array({ maxLength: 64 }),
});

test('values read in binary are those the text parsers give: int8, int4, int2, bool, timestamptz, bytea, NULL', async () => {
  await roundTrip({ i8: 1n, i4: 1, i2: 1, flag: true, micros: 0n, bytes: new Uint8Array() }); // the first answer, in text
  await fc.assert(
    fc.asyncProperty(samples, async (sample) => {
      const row = await roundTrip(sample);
      assert.equal(row.i8, parseText(20)(row.i8_text as string));
      assert.equal(row.i4, sample.i4);
      assert.equal(row.i2, sample.i2);
      assert.equal(row.flag, sample.flag);
      assert.equal(Number(row.at as Date), Number(parseText(1184)(row.at_text as string) as Date), row.at_text as string);
      assert.deepEqual(row.bytes, Buffer.from(sample.bytes));
      assert.equal(row.nothing, null);
      assert.deepEqual(row.words, ['a', 'b']);
    }),
    { numRuns: 2_000 },
  );
});

test("a statement's first answer (text) and its later ones (binary) give the same rows", async () => {
  interface Row {
    n: number;
    at: Date;
    even: boolean;
    b: Buffer;
    t: string;
  }
  const sql = `SELECT $1::int8 AS n, now() - ($1::int8 * interval '1 second') AS at, $1::int8 % 2 = 0 AS even, $2::bytea AS b, 'tekst ✓'::text AS t`;
  const params = (n: number) => [n, Buffer.from([n & 0xff, 0, 0xff])];
  // The same statement once more under another text: its first answer, in text.
  const [asText] = await db.query<Row>(`${sql} -- text`, params(12_345));
  await db.query(sql, params(1)); // described, in text
  const [asBinary] = await db.query<Row>(sql, params(12_345));
  assert.deepEqual(Object.keys(asBinary!), Object.keys(asText!));
  // now() differs between the two: only its type is compared.
  assert.deepEqual({ ...asBinary!, at: undefined }, { ...asText!, at: undefined });
  assert.ok(asBinary!.at instanceof Date && asText!.at instanceof Date);
});

test('±infinity timestamps read as ±Infinity, as the text parser gives', async () => {
  const sql = "SELECT 'infinity'::timestamptz AS up, '-infinity'::timestamptz AS down, $1::int AS n";
  const [asText] = await db.query<{ up: unknown; down: unknown }>(sql, [1]);
  const [asBinary] = await db.query<{ up: unknown; down: unknown }>(sql, [2]);
  assert.equal(Number(asText!.up), Infinity);
  assert.equal(Number(asText!.down), -Infinity);
  assert.equal(Number(asBinary!.up), Infinity);
  assert.equal(Number(asBinary!.down), -Infinity);
});
