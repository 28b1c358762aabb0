import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PoolDatabase } from '../src/store/db.js';
import { openTestStore, testDatabaseUrl, type TestStore } from './helpers/store.js';

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

test('callers that do not wait for each other each get their own answers, whatever they mix', async () => {
  // Ten callers use a statement none has used before, all at once (on PGlite the first one's
  // Parse is still unanswered when the others are sent), between transactions that read before
  // they write and pipelined writes.
  const sum = 'SELECT $1::int + 1000 AS v';
  const work = Array.from({ length: 30 }, (_, i) => {
    const id = 100 + i;
    if (i % 3 === 0) return store.db.query<{ v: number }>(sum, [i]).then(([row]) => assert.equal(row!.v, i + 1000));
    if (i % 3 === 1) {
      return store.db.transaction(async (tx) => {
        const [row] = await tx.query<{ v: number }>(sum, [id]);
        await tx.query(...insert(row!.v));
      });
    }
    return store.db.pipelined((tx) => tx.query(...insert(id))).then(([row]) => assert.deepEqual(row, { id }));
  });
  await Promise.all(work);
  const want = Array.from({ length: 30 }, (_, i) => (i % 3 === 1 ? 1100 + i : i % 3 === 2 ? 100 + i : undefined)).filter((v) => v !== undefined);
  assert.deepEqual((await ids()).filter((id) => id >= 100), want.sort((a, b) => a - b));
});

test('a statement first sent in a transaction that had already failed answers when used meanwhile and after', async () => {
  // On PGlite its first Parse fails with the transaction; the caller sending it meanwhile must not
  // rely on it, nor must later ones.
  const fresh = 'SELECT note FROM pipelined_probe WHERE id = $1 AND note IS NOT NULL';
  const failing = store.db.pipelined((tx) => Promise.all([tx.query(...insert(1)), tx.query(fresh, [1])]));
  const meanwhile = store.db.query(fresh, [2]);
  await assert.rejects(failing, { code: '23505' });
  assert.deepEqual(await meanwhile, [{ note: 'row 2' }]);
  assert.deepEqual(await store.db.query(fresh, [1]), [{ note: 'row 1' }]);
  assert.deepEqual(await store.db.query(fresh, [2]), [{ note: 'row 2' }]);
});

test('writers that do not wait for each other share commits; each gets its own outcome, and one that fails fails alone', async () => {
  // Warm: the statements are parsed before the bursts, so every batch of them may join a group.
  const insertWithXact = 'INSERT INTO pipelined_probe (id, note) VALUES ($1, $2) RETURNING pg_current_xact_id()::text AS xact';
  const note = 'SELECT note FROM pipelined_probe WHERE id = $1';
  const cast = 'SELECT $1::int AS n';
  const write = (id: number, text = `row ${id}`) => store.db.pipelined((tx) => tx.query<{ xact: string }>(insertWithXact, [id, text]), { batchKey: 1 });
  await write(900, 'warm');
  await store.db.query(note, [900]);
  await store.db.query(cast, ['1']);

  // The embedded store's thread runs writers queued back to back in one transaction; PostgreSQL,
  // those of one batch key that wait while another runs.
  const shared = await Promise.all(Array.from({ length: 20 }, (_, i) => write(2000 + i)));
  const xacts = new Set(shared.map(([row]) => row!.xact));
  assert.ok(xacts.size < shared.length, `${shared.length} writes in ${xacts.size} transactions`);

  const outcomes = await Promise.allSettled(
    Array.from({ length: 40 }, (_, i) => {
      const id = 1000 + i;
      // One write breaks the primary key, one read fails to cast: each of them fails, alone.
      if (i === 17) return write(900, 'taken');
      if (i === 23) return store.db.query(cast, ['not a number']);
      // On PGlite, a read sent after a write sees it, as it would alone (on PostgreSQL it may run first, on another connection).
      if (i % 4 === 3) return store.db.query<{ note: string }>(note, [id - 1]);
      return write(id);
    }),
  );
  outcomes.forEach((outcome, i) => {
    if (i === 17) return assert.equal(outcome.status === 'rejected' && (outcome.reason as { code?: string }).code, '23505');
    if (i === 23) return assert.equal(outcome.status === 'rejected' && (outcome.reason as { code?: string }).code, '22P02');
    assert.equal(outcome.status, 'fulfilled', `caller ${i}: ${outcome.status === 'rejected' ? String(outcome.reason) : ''}`);
    if (i % 4 === 3 && store.db.kind === 'pglite') assert.deepEqual((outcome as PromiseFulfilledResult<unknown>).value, [{ note: `row ${1000 + i - 1}` }]);
  });
  const written = Array.from({ length: 40 }, (_, i) => 1000 + i).filter((id) => id !== 1017 && id !== 1023 && id % 4 !== 3);
  assert.deepEqual((await ids()).filter((id) => id >= 1000 && id < 1040), written);
  assert.deepEqual(await store.db.query(note, [900]), [{ note: 'warm' }]);
});

test('on PostgreSQL, lanes of many keys on a small pool all finish, even when their groups fail', { skip: testDatabaseUrl ? false : 'PostgreSQL only', timeout: 60_000 }, async () => {
  // Two connections for four keys: a failed group's writes run again alone on connections the
  // other lanes hold, so a lane must never wait for them.
  const db = new PoolDatabase({ connectionString: store.databaseUrl!, max: 2 });
  try {
    const insert = 'INSERT INTO pipelined_probe (id, note) VALUES ($1, $2) RETURNING id';
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => db.pipelined((tx) => tx.query(insert, [i % 10 === 9 ? 900 : 3000 + i, 'lane']), { batchKey: i % 4 })),
    );
    outcomes.forEach((outcome, i) => assert.equal(outcome.status, i % 10 === 9 ? 'rejected' : 'fulfilled', `write ${i}`));
  } finally {
    await db.close();
  }
});

test('on PGlite, writes posted while a group runs join it before its COMMIT; one that fails fails alone', { skip: testDatabaseUrl ? 'PGlite only' : false }, async () => {
  const insertWithXact = 'INSERT INTO pipelined_probe (id, note) VALUES ($1, $2) RETURNING pg_current_xact_id()::text AS xact';
  const write = (id: number) => store.db.pipelined((tx) => tx.query<{ xact: string }>(insertWithXact, [id, `row ${id}`]), { batchKey: 1 });
  // A write that holds its group open for 200 ms; the others are posted while it sleeps.
  const slowWrite = (id: number) => {
    const slow = store.db.pipelined((tx) => tx.query<{ xact: string }>(`WITH w AS (${insertWithXact}) SELECT w.xact, pg_sleep(0.2) FROM w`, [id, 'slow']), { batchKey: 1 });
    slow.catch(() => undefined); // awaited below
    // Wrapped: a promise resolved with a promise would wait for it.
    return new Promise<{ slow: typeof slow }>((resolve) => setTimeout(() => resolve({ slow }), 50));
  };

  // Statements already parsed, so that each batch may join a group (WorkerBatch.joinable).
  await (await slowWrite(3990)).slow;
  await write(3991);

  const { slow } = await slowWrite(4000);
  const [[first], [second], [third]] = await Promise.all([slow, write(4001), write(4002)]);
  assert.equal(second!.xact, first!.xact, 'a write posted meanwhile shares the running group');
  assert.equal(third!.xact, first!.xact);

  const { slow: again } = await slowWrite(4003);
  const [stored, taken, after] = await Promise.allSettled([again, write(4003), write(4004)]);
  assert.equal(stored.status, 'fulfilled');
  assert.equal(taken.status === 'rejected' && (taken.reason as { code?: string }).code, '23505', 'the write that broke the group fails by itself');
  assert.equal(after.status, 'fulfilled');
  assert.deepEqual((await ids()).filter((id) => id >= 4000 && id < 4010), [4000, 4001, 4002, 4003, 4004]);
});
