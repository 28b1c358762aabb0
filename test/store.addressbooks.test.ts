import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { addressCandidates } from '../src/store/addressbooks.js';
import type { Queryable } from '../src/store/db.js';
import { listMigrations } from '../src/store/migrate.js';
import { PGLITE_EXTENSIONS } from '../src/store/pglite-extensions.js';

/**
 * An in-memory PGlite with every migration applied, 5 000 cards in one address book (FN "Person
 * n", and "John n" for every tenth; an EMAIL, a TEL and an ORG), analyzed, and a Queryable that records the statements it runs.
 */
async function bookOf5000(withExtensions: boolean) {
  const pglite = await PGlite.create(withExtensions ? { extensions: PGLITE_EXTENSIONS } : {});
  for (const migration of listMigrations()) await pglite.exec(migration.sql);
  const [{ id: userId }] = (await pglite.query<{ id: number }>("INSERT INTO users (name, password_hash) VALUES ('u', 'x') RETURNING id")).rows as [{ id: number }];
  const [{ id: rootId }] = (await pglite.query<{ id: number }>("INSERT INTO nodes (user_id, parent_id, name, kind, etag) VALUES ($1, NULL, 'addressbooks', 'collection', '\"\"') RETURNING id", [userId])).rows as [{ id: number }];
  const [{ id: bookId }] = (await pglite.query<{ id: number }>("INSERT INTO nodes (user_id, parent_id, name, kind, etag) VALUES ($1, $2, 'book', 'addressbook', '\"\"') RETURNING id", [userId, rootId])).rows as [{ id: number }];
  await pglite.query(
    `WITH numbers AS (
       SELECT i, CASE WHEN i % 10 = 0 THEN 'John ' ELSE 'Person ' END || i AS fn FROM generate_series(1, 5000) AS i
     ), cards AS (
       INSERT INTO nodes (user_id, parent_id, name, kind, etag)
       SELECT $1, $2, 'c' || i || '.vcf', 'address-object', '"' || i || '"' FROM numbers
       RETURNING id, name
     )
     INSERT INTO address_values (user_id, book_id, node_id, prop, value, folded)
     SELECT $1, $2, c.id, v.prop, v.value, lower(v.value)
       FROM cards c JOIN numbers n ON c.name = 'c' || n.i || '.vcf',
            LATERAL (VALUES ('FN', n.fn), ('EMAIL', 'someone.' || n.i || '@example.org'), ('TEL', '+1 555 01' || n.i), ('ORG', 'Company ' || n.i % 50)) AS v(prop, value)`,
    [userId, bookId],
  );
  // As the statistics keeper does once a table has grown (store/statistics.ts).
  await pglite.exec('ANALYZE');
  const statements: Array<{ sql: string; params: unknown[] }> = [];
  const q: Queryable = {
    query: async <R extends object>(sql: string, params: readonly unknown[] = []) => {
      statements.push({ sql, params: [...params] });
      return (await pglite.query<R>(sql, [...params])).rows;
    },
  };
  return { pglite, q, userId: Number(userId), bookId: Number(bookId), statements };
}

test('contains searches go through the trigram index on PGlite, and need none to answer', async () => {
  for (const withExtensions of [true, false]) {
    const { pglite, q, userId, bookId, statements } = await bookOf5000(withExtensions);
    try {
      const found = await addressCandidates(q, userId, bookId, [{ prop: 'FN', needle: 'john 1' }], false);
      // John 10, 100, 110, …, 190, 1000, 1010, …, 1990.
      assert.equal(found.length, 1 + 10 + 100, `with extensions: ${withExtensions}`);
      assert.ok(found.every((c) => c.node.kind === 'address-object' && c.data === ''));
      const index = await pglite.query("SELECT 1 FROM pg_indexes WHERE indexname = 'address_values_contains'");
      assert.equal(index.rows.length, withExtensions ? 1 : 0, 'the index exists exactly where pg_trgm does');
      if (withExtensions) {
        const { sql, params } = statements.at(-1)!;
        const plan = (await pglite.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
        assert.match(plan, /address_values_contains/, plan);
      }
    } finally {
      await pglite.close();
    }
  }
});
