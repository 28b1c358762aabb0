import type { Queryable } from './db.js';
import { insertNode, nodeColumns, rowToNode, type Beside, type Node, type NodeRow } from './nodes.js';

export async function createAddressBook(tx: Queryable, userId: number, parentId: number, name: string): Promise<Node> {
  return insertNode(tx, { userId, parentId, name, kind: 'addressbook' });
}

/** What the index keeps of a vCard (written at PUT time). */
export interface AddressObjectIndex {
  uid: string;
  version: string;
  kind: string;
  /** Searchable values: property name, value as written, value folded for i;unicode-casemap. */
  values: Array<{ prop: string; value: string; folded: string }>;
}

/**
 * A vCard's data and search values, written (or replaced) beside its node by the same statement;
 * its DELETE sees only the values from before the statement, never the ones it inserts.
 * A second vCard with its UID in the address book violates the unique key (CARD_UID_KEY).
 */
export function addressObjectRows(bookId: number, index: AddressObjectIndex, data: string): Beside {
  return {
    params: [bookId, index.uid, index.version, index.kind, data, index.values.map((v) => v.prop), index.values.map((v) => v.value), index.values.map((v) => v.folded)],
    statements: (p) => [
      `INSERT INTO address_objects (user_id, node_id, book_id, uid, version, kind, data)
       SELECT user_id, id, $${p}::bigint, $${p + 1}::text, $${p + 2}::text, $${p + 3}::text, $${p + 4}::text FROM written
       ON CONFLICT (user_id, node_id) DO UPDATE SET book_id = EXCLUDED.book_id, uid = EXCLUDED.uid, version = EXCLUDED.version,
         kind = EXCLUDED.kind, data = EXCLUDED.data`,
      `DELETE FROM address_values v USING written w WHERE v.user_id = w.user_id AND v.node_id = w.id`,
      `INSERT INTO address_values (user_id, book_id, node_id, prop, value, folded)
       SELECT w.user_id, $${p}::bigint, w.id, v.prop, v.value, v.folded
         FROM written w, unnest($${p + 5}::text[], $${p + 6}::text[], $${p + 7}::text[]) AS v(prop, value, folded)`,
    ],
  };
}

/** A stored vCard, as its search values are computed again from it. */
export interface StoredCard {
  userId: number;
  nodeId: number;
  data: string;
}

/**
 * Stored vCards of every user in key order after `after`, `limit` at a time, each locked until
 * the transaction ends: a PUT of one of them waits, so the values written from this text are
 * not replaced by stale ones, nor do they replace newer ones.
 */
export async function lockCardsAfter(tx: Queryable, after: { userId: number; nodeId: number } | undefined, limit: number): Promise<StoredCard[]> {
  const rows = await tx.query<{ user_id: number; node_id: number; data: string }>(
    `SELECT user_id, node_id, data FROM address_objects
      WHERE (user_id, node_id) > ($1::bigint, $2::bigint) ORDER BY user_id, node_id LIMIT $3 FOR UPDATE`,
    [after?.userId ?? 0, after?.nodeId ?? 0, limit],
  );
  return rows.map((r) => ({ userId: r.user_id, nodeId: r.node_id, data: r.data }));
}

/** Replaces the search values of vCards locked by lockCardsAfter. */
export async function replaceCardValues(tx: Queryable, cards: ReadonlyArray<{ card: StoredCard; values: AddressObjectIndex['values'] }>): Promise<void> {
  if (cards.length === 0) return;
  const rows = cards.flatMap(({ card, values }) => values.map((v) => ({ card, ...v })));
  await tx.query(
    `DELETE FROM address_values v USING unnest($1::bigint[], $2::bigint[]) AS c(user_id, node_id)
      WHERE v.user_id = c.user_id AND v.node_id = c.node_id`,
    [cards.map((c) => c.card.userId), cards.map((c) => c.card.nodeId)],
  );
  await tx.query(
    `INSERT INTO address_values (user_id, book_id, node_id, prop, value, folded)
     SELECT v.user_id, o.book_id, v.node_id, v.prop, v.value, v.folded
       FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) AS v(user_id, node_id, prop, value, folded)
       JOIN address_objects o ON o.user_id = v.user_id AND o.node_id = v.node_id`,
    [rows.map((r) => r.card.userId), rows.map((r) => r.card.nodeId), rows.map((r) => r.prop), rows.map((r) => r.value), rows.map((r) => r.folded)],
  );
}

/** The unique key that keeps a UID to one vCard per address book (addressObjectRows violates it). */
export const CARD_UID_KEY = 'address_objects_user_id_book_id_uid_key';

export async function findCardUidOwner(q: Queryable, userId: number, bookId: number, uid: string, exceptNodeId?: number): Promise<string | undefined> {
  const rows = await q.query<{ name: string }>(
    `SELECT n.name FROM address_objects o JOIN nodes n ON n.user_id = o.user_id AND n.id = o.node_id
      WHERE o.user_id = $1 AND o.book_id = $2 AND o.uid = $3 AND o.node_id <> $4`,
    [userId, bookId, uid, exceptNodeId ?? 0],
  );
  return rows[0]?.name;
}

export async function addressObjectData(q: Queryable, userId: number, nodeIds: readonly number[]): Promise<Map<number, string>> {
  const rows = await q.query<{ node_id: number; data: string }>(
    'SELECT node_id, data FROM address_objects WHERE user_id = $1 AND node_id = ANY($2::bigint[])',
    [userId, nodeIds],
  );
  return new Map(rows.map((r) => [r.node_id, r.data]));
}

/** Moves or copies a vCard's index with its node (COPY/MOVE between address books). */
export async function relocateAddressObject(tx: Queryable, userId: number, fromNodeId: number, toNodeId: number, bookId: number): Promise<void> {
  if (fromNodeId === toNodeId) {
    await tx.query('UPDATE address_objects SET book_id = $3 WHERE user_id = $1 AND node_id = $2', [userId, fromNodeId, bookId]);
    await tx.query('UPDATE address_values SET book_id = $3 WHERE user_id = $1 AND node_id = $2', [userId, fromNodeId, bookId]);
    return;
  }
  await tx.query(
    `INSERT INTO address_objects (user_id, node_id, book_id, uid, version, kind, data)
     SELECT user_id, $3, $4, uid, version, kind, data FROM address_objects WHERE user_id = $1 AND node_id = $2`,
    [userId, fromNodeId, toNodeId, bookId],
  );
  await tx.query(
    `INSERT INTO address_values (user_id, book_id, node_id, prop, value, folded)
     SELECT user_id, $4, $3, prop, value, folded FROM address_values WHERE user_id = $1 AND node_id = $2`,
    [userId, fromNodeId, toNodeId, bookId],
  );
}

/**
 * A LIKE pattern that matches the values containing `needle` (LIKE's wildcards and its escape
 * character escaped). Each (property, pattern) pair is a condition of its own, so that the trigram
 * index of migration 0011, where there is one, finds the values of each.
 */
function containsPattern(needle: string): string {
  return `%${needle.replace(/[\\%_]/g, '\\$&')}%`;
}

/**
 * Members of an address book; with `searches`, only those having at least one of the given
 * (property, needle) pairs among their folded values, i.e. a superset of a "contains" search,
 * found through the value index. Without `withData` the texts are left out (empty).
 */
export async function addressCandidates(
  q: Queryable,
  userId: number,
  bookId: number,
  searches: ReadonlyArray<{ prop: string; needle: string }> | undefined,
  withData = true,
): Promise<Array<{ node: Node; data: string }>> {
  const columns = `${nodeColumns('n')}, ${withData ? 'o.data' : "'' AS data"}`;
  // A pair asked twice (a phone number's text is often its digits) would test each value twice
  // and make the planner expect twice the hits (PostgreSQL with statistics then scanned every
  // value of the book, and every card and node: TEL "042" in 5 000 cards 32.6 → 19.8 ms).
  const pairs = searches && [...new Map(searches.map((s) => [`${s.prop}\0${s.needle}`, s])).values()];
  const rows = pairs
    ? // From the value index, read for the searched properties only, to the cards that have a hit,
      // then their rows (materialized: the plan holds without statistics). Without the texts the
      // cards' rows are not read at all: a hit's values exist only while its card does, and
      // reading 440 of them took half the statement (FN in 5 000 cards on PGlite: 14.7 → 7.6 ms).
      await q.query<NodeRow & { data: string }>(
        `WITH hits AS MATERIALIZED (
           SELECT DISTINCT v.node_id FROM address_values v
            WHERE v.user_id = $1 AND v.book_id = $2 AND (${pairs.map((_, i) => `(v.prop = $${3 + 2 * i} AND v.folded LIKE $${4 + 2 * i})`).join(' OR ')}))
         SELECT ${columns} FROM hits h
           ${withData ? 'JOIN address_objects o ON o.user_id = $1 AND o.node_id = h.node_id' : ''}
           JOIN nodes n ON n.user_id = $1 AND n.id = h.node_id
          ORDER BY n.name`,
        [userId, bookId, ...pairs.flatMap((s) => [s.prop, containsPattern(s.needle)])],
      )
    : await q.query<NodeRow & { data: string }>(
        `SELECT ${columns} FROM address_objects o JOIN nodes n ON n.user_id = o.user_id AND n.id = o.node_id
          WHERE o.user_id = $1 AND o.book_id = $2 ORDER BY n.name`,
        [userId, bookId],
      );
  return rows.map((row) => ({ node: rowToNode(row), data: row.data }));
}
