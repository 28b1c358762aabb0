import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openTestStore, type TestStore } from './helpers/store.js';

let store: TestStore;
before(async () => {
  store = await openTestStore();
  await store.db.query('CREATE TABLE pipelined_probe (id int PRIMARY KEY, note text NOT NULL)');
});
after(() => store.close());

const insert = (id: number) => ['INSERT INTO pipelined_probe (id, note) VALUES ($1, $2) RETURNING id', [id, `row ${id}`]] as const;
const ids = async () => (await store.db.query<{ id: number }>('SELECT id FROM pipelined_probe ORDER BY id')).map((r) => r.id);

test('a pipelined transaction commits the statements issued together', async () => {
  const answers = await store.db.pipelined((tx) => Promise.all([tx.query(...insert(1)), tx.query(...insert(2))]));
  assert.deepEqual(answers, [[{ id: 1 }], [{ id: 2 }]]);
  assert.deepEqual(await ids(), [1, 2]);
});

test('a pipelined transaction whose statement fails rolls back the others and throws its error', async () => {
  // The first statement succeeds, the second breaks the primary key: neither stays.
  await assert.rejects(store.db.pipelined((tx) => Promise.all([tx.query(...insert(3)), tx.query(...insert(1))])), { code: '23505' });
  assert.deepEqual(await ids(), [1, 2]);
  // The first fails: the second, already sent, does not run on its own.
  await assert.rejects(store.db.pipelined((tx) => Promise.all([tx.query(...insert(2)), tx.query(...insert(4))])), { code: '23505' });
  assert.deepEqual(await ids(), [1, 2]);
  // The store serves on.
  await store.db.pipelined((tx) => tx.query(...insert(5)));
  assert.deepEqual(await ids(), [1, 2, 5]);
});

test('a pipelined transaction refuses a statement issued after an await', async () => {
  await assert.rejects(
    store.db.pipelined(async (tx) => {
      await tx.query('SELECT id FROM pipelined_probe WHERE id = $1', [1]);
      return tx.query(...insert(6));
    }),
    /no statement after its first await/,
  );
  assert.deepEqual(await ids(), [1, 2, 5]);
});
