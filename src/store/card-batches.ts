/**
 * vCards written in batches (write-batches.ts): a phone's first sync of its contacts, or an
 * import, PUTs many at once. The batch's statement writes the cards' nodes, their change-log
 * entries, their address_objects rows and their search values (as addressObjectRows does for
 * one). A UID already held in the address book, or twice in the batch, fails the batch on
 * CARD_UID_KEY; each card then goes alone and the one in conflict is told which member holds it.
 */
import { addressObjectRows, type AddressObjectIndex } from './addressbooks.js';
import type { Queryable } from './db.js';
import { nodeColumns, rowToNode, writeMember, type NodeContent, type NodeRow, type WrittenMember } from './nodes.js';
import { batcherPerDatabase, bumpAndWrite, BUMPED_CTE, LOGGED_CTES, type BatchKind, type BatchParent } from './write-batches.js';

/** A validated vCard to write: its name, node content, index and text. */
export interface CardWrite {
  name: string;
  expected: 'any' | 'absent';
  content: NodeContent;
  index: AddressObjectIndex;
  data: string;
}

/**
 * As file-batches.ts's statement, with the address_objects rows and the search values (all the
 * cards' values in flat arrays, each with its card's place in the input) where that one claims
 * blobs. The values' DELETE sees only those from before the statement, never the ones it inserts.
 */
function writeSql(expected: 'any' | 'absent'): string {
  const onConflict =
    expected === 'absent'
      ? 'NOTHING'
      : `UPDATE SET size = EXCLUDED.size, etag = EXCLUDED.etag, content_type = EXCLUDED.content_type, modified_at = now()
         WHERE n.kind = 'address-object'`;
  return `WITH input AS (
       SELECT * FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
         WITH ORDINALITY AS i (name, size, content_type, etag, uid, version, kind, data, ord)
     ), ${BUMPED_CTE}, written AS (
       INSERT INTO nodes AS n (user_id, parent_id, name, kind, size, content_type, etag)
       SELECT $1, $2, i.name, 'address-object', i.size, i.content_type, i.etag FROM input i, bumped ORDER BY i.ord
       ON CONFLICT (user_id, parent_id, name) DO ${onConflict}
       RETURNING ${nodeColumns('n')}, xmax = 0 AS created
     ), ${LOGGED_CTES}, objects AS (
       INSERT INTO address_objects (user_id, node_id, book_id, uid, version, kind, data)
       SELECT w.user_id, w.id, $2, i.uid, i.version, i.kind, i.data FROM written w JOIN input i ON i.name = w.name
       ON CONFLICT (user_id, node_id) DO UPDATE SET book_id = EXCLUDED.book_id, uid = EXCLUDED.uid, version = EXCLUDED.version,
         kind = EXCLUDED.kind, data = EXCLUDED.data
     ), cleared AS (
       DELETE FROM address_values v USING written w WHERE v.user_id = w.user_id AND v.node_id = w.id
     ), valued AS (
       INSERT INTO address_values (user_id, book_id, node_id, prop, value, folded)
       SELECT w.user_id, $2, w.id, v.prop, v.value, v.folded
         FROM unnest($11::bigint[], $12::text[], $13::text[], $14::text[]) AS v (card, prop, value, folded)
         JOIN input i ON i.ord = v.card JOIN written w ON w.name = i.name
     )
     SELECT * FROM written`;
}
const WRITE_SQL = { any: writeSql('any'), absent: writeSql('absent') };

/** Writes one batch (distinct names) in two statements; by name, what was written. */
export async function writeCardBatch(tx: Queryable, book: BatchParent, expected: 'any' | 'absent', writes: readonly CardWrite[]): Promise<Map<string, WrittenMember>> {
  const values = writes.flatMap((w, i) => w.index.values.map((v) => ({ card: i + 1, ...v })));
  const rows = await bumpAndWrite<NodeRow & { created: boolean }>(tx, book, writes.length, WRITE_SQL[expected], [
    book.userId,
    book.id,
    writes.map((w) => w.name),
    writes.map((w) => w.content.size),
    writes.map((w) => w.content.contentType),
    writes.map((w) => w.content.etag),
    writes.map((w) => w.index.uid),
    writes.map((w) => w.index.version),
    writes.map((w) => w.index.kind),
    writes.map((w) => w.data),
    values.map((v) => v.card),
    values.map((v) => v.prop),
    values.map((v) => v.value),
    values.map((v) => v.folded),
  ]);
  return new Map(rows.map((row) => [row.name, { node: rowToNode(row), created: row.created, previousBlob: null }]));
}

/** vCards, as a kind of batched write. */
export const cardWrites: BatchKind<CardWrite> = {
  writeBatch: writeCardBatch,
  writeAlone: (db, book, write) =>
    db.pipelined((tx) => writeMember(tx, book, write.name, 'address-object', write.content, write.expected, addressObjectRows(book.id, write.index, write.data)), { batchKey: book.userId }),
};

/** The batcher of vCards of a database. */
export const cardBatcher = batcherPerDatabase(cardWrites);
