import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Database, Queryable } from '../src/store/db.js';
import { isCacheableRead, ReadCachingDatabase } from '../src/store/read-cache.js';

/** A store that answers every read with a fresh row counting its calls, and can hold a statement. */
function fakeStore() {
  const calls: string[] = [];
  let version = 0;
  let hold: Promise<void> | undefined;
  const inner: Database = {
    kind: 'pglite',
    async query<R extends object>(sql: string): Promise<R[]> {
      calls.push(sql);
      if (hold) await hold;
      if (/^UPDATE/.test(sql)) version++;
      const n = /rows=(\d+)/.exec(sql)?.[1];
      return Array.from({ length: n ? Number(n) : 1 }, () => ({ version })) as unknown as R[];
    },
    async transaction<T>(work: (tx: Queryable) => Promise<T>) {
      return work(inner);
    },
    async pipelined<T>(work: (tx: Queryable) => Promise<T>) {
      return work(inner);
    },
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    close: async () => {},
  };
  return { inner, calls, holdNext: () => { let release = () => {}; hold = new Promise<void>((r) => (release = r)); return () => { hold = undefined; release(); }; } };
}

test('which statements may be kept', () => {
  assert.equal(isCacheableRead('SELECT data FROM calendar_objects WHERE user_id = $1'), true);
  assert.equal(isCacheableRead('  with recursive walk AS (SELECT 1) SELECT * FROM walk'), true);
  assert.equal(isCacheableRead('WITH created AS (INSERT INTO nodes VALUES (1) RETURNING *) SELECT * FROM created'), false);
  assert.equal(isCacheableRead('SELECT * FROM nodes WHERE id = $1 FOR UPDATE'), false);
  assert.equal(isCacheableRead('SELECT token FROM locks WHERE expires > now()'), false);
  assert.equal(isCacheableRead("SELECT reltuples FROM pg_class WHERE relname = 'nodes'"), false);
  assert.equal(isCacheableRead('ANALYZE'), false);
  // The health probe must reach the store.
  assert.equal(isCacheableRead('SELECT 1'), false);
  assert.equal(isCacheableRead('UPDATE nodes SET name = $1'), false);
});

test('a read is answered from the cache until a write or a transaction', async () => {
  const { inner, calls } = fakeStore();
  const db = new ReadCachingDatabase(inner);
  const read = () => db.query<{ version: number }>('SELECT v FROM t WHERE id = $1', [1]);
  assert.deepEqual(await read(), [{ version: 0 }]);
  assert.deepEqual(await read(), [{ version: 0 }]);
  assert.equal(calls.length, 1);
  // Other parameters are another entry.
  await db.query('SELECT v FROM t WHERE id = $1', [2]);
  assert.equal(calls.length, 2);
  await db.query('UPDATE t SET v = v + 1');
  assert.deepEqual(await read(), [{ version: 1 }]);
  assert.equal(calls.length, 4);
  await db.transaction(async (tx) => tx.query('SELECT 1'));
  await read();
  assert.equal(calls.length, 6);
});

test('a caller changing its rows does not change what the next one reads', async () => {
  const db = new ReadCachingDatabase(fakeStore().inner);
  const first = await db.query<{ version: number }>('SELECT v FROM t');
  first[0]!.version = 99;
  assert.deepEqual(await db.query('SELECT v FROM t'), [{ version: 0 }]);
});

test('a read that overlaps a write is not kept', async () => {
  const store = fakeStore();
  const db = new ReadCachingDatabase(store.inner);
  const release = store.holdNext();
  const reading = db.query('SELECT v FROM t');
  const writing = db.query('UPDATE t SET v = 1');
  release();
  await Promise.all([reading, writing]);
  await db.query('SELECT v FROM t');
  assert.equal(store.calls.filter((c) => c.startsWith('SELECT')).length, 2);
});

test('listings and clock-dependent reads always go to the store', async () => {
  const { inner, calls } = fakeStore();
  const db = new ReadCachingDatabase(inner);
  for (let i = 0; i < 2; i++) await db.query('SELECT v FROM t /* rows=100 */');
  for (let i = 0; i < 2; i++) await db.query('SELECT v FROM t WHERE at > now()');
  assert.equal(calls.length, 4);
});
