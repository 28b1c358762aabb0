/**
 * vCards written in batches (write-batches.ts): a phone's first sync of its contacts, or an
 * import, PUTs many at once. The batch's statement writes the cards' nodes, their change-log
 * entries, their address_objects rows and their search values (as addressObjectRows does for
 * one). A UID already held in the address book, or twice in the batch, fails the batch on
 * CARD_UID_KEY; each card then goes alone and the one in conflict is told which member holds it.
 */
import { addressObjectRows, type AddressObjectIndex } from './addressbooks.js';
import type { Queryable } from './db.js';
import { writeMember, type WrittenMember } from './nodes.js';
import { batcherPerDatabase, textObjectBatchSql, writeTextObjectBatch, type BatchKind, type CollectionById, type TextObjectWrite } from './write-batches.js';

/** A validated vCard to write: its node content, index and text. */
export interface CardWrite extends TextObjectWrite {
  index: AddressObjectIndex;
  data: string;
}

const COLUMNS = [['uid', 'text'], ['version', 'text'], ['kind', 'text'], ['data', 'text']] as const;

/**
 * The address_objects rows and the search values: all the cards' values in flat arrays ($11 on),
 * each with its card's place in the input. The values' DELETE sees only those from before the
 * statement, never the ones it inserts.
 */
const INDEXED = `objects AS (
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
     )`;
const WRITE_SQL = { any: textObjectBatchSql('address-object', 'any', COLUMNS, INDEXED), absent: textObjectBatchSql('address-object', 'absent', COLUMNS, INDEXED) };

/** Writes one batch (distinct names) in two statements; by name, what was written. */
export function writeCardBatch(tx: Queryable, book: CollectionById, expected: 'any' | 'absent', writes: readonly CardWrite[]): Promise<Map<string, WrittenMember>> {
  const values = writes.flatMap((w, i) => w.index.values.map((v) => ({ card: i + 1, ...v })));
  return writeTextObjectBatch(tx, book, WRITE_SQL[expected], writes, [
    writes.map((w) => w.index.uid),
    writes.map((w) => w.index.version),
    writes.map((w) => w.index.kind),
    writes.map((w) => w.data),
    values.map((v) => v.card),
    values.map((v) => v.prop),
    values.map((v) => v.value),
    values.map((v) => v.folded),
  ]);
}

/** vCards, as a kind of batched write. */
export const cardWrites: BatchKind<CardWrite, CollectionById> = {
  writeBatch: writeCardBatch,
  writeAlone: (db, book, write) =>
    db.pipelined((tx) => writeMember(tx, book, write.name, 'address-object', write.content, write.expected, addressObjectRows(book.id, write.index, write.data)), { batchKey: book.userId }),
};

/** The batcher of vCards of a database. */
export const cardBatcher = batcherPerDatabase(cardWrites);
