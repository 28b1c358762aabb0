import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StatisticsKeeper } from '../src/store/statistics.js';
import { openTestStore } from './helpers/store.js';

test('ANALYZE runs after a base of commits, then after a share of the rows, one at a time', async () => {
  const runs: number[] = [];
  let finish: () => void = () => {};
  const keeper = new StatisticsKeeper(async () => {
    runs.push(runs.length);
    await new Promise<void>((resolve) => (finish = resolve));
    return 10_000;
  });
  for (let i = 0; i < 999; i++) keeper.noteCommit();
  assert.equal(runs.length, 0);
  keeper.noteCommit();
  assert.equal(runs.length, 1);
  // While one runs, more commits start no second one (they count towards the next).
  for (let i = 0; i < 2_000; i++) keeper.noteCommit();
  assert.equal(runs.length, 1);
  finish();
  await keeper.idle();
  // Next threshold: 1 000 + half of the 10 000 rows.
  for (let i = 0; i < 3_999; i++) keeper.noteCommit();
  assert.equal(runs.length, 1);
  keeper.noteCommit();
  assert.equal(runs.length, 2);
  finish();
  await keeper.idle();
});

test('a failing ANALYZE (a closing store) is ignored and retried at the next threshold', async () => {
  let calls = 0;
  const keeper = new StatisticsKeeper(async () => {
    calls++;
    throw new Error('closing');
  });
  for (let i = 0; i < 1_000; i++) keeper.noteCommit();
  await keeper.idle();
  for (let i = 0; i < 1_000; i++) keeper.noteCommit();
  await keeper.idle();
  assert.equal(calls, 2);
});

test('the embedded store analyzes by itself as writes add up', { skip: process.env.TEST_DATABASE_URL ? 'PostgreSQL has autovacuum' : false }, async () => {
  const store = await openTestStore();
  try {
    await store.db.query('CREATE TABLE t (v int)');
    const count = async () => (await store.db.query<{ n: number }>("SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relname = 'nodes'"))[0]!.n;
    const before = await count();
    for (let i = 0; i < 1_000; i++) await store.db.transaction((tx) => tx.query('INSERT INTO t VALUES ($1)', [i]));
    for (let i = 0; i < 100 && (await count()) === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await count(), before + 1);
  } finally {
    await store.close();
  }
});
