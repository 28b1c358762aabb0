/**
 * Small files written in batches (write-batches.ts): a file whose body is kept in its blobs row,
 * into a plain collection. The batch's statement writes the files, their change-log entries and
 * their blob rows; a body shared by two files of the batch is claimed once.
 */
import { blobClaimRow, KEEP_EXISTING_ROW } from './blobs.js';
import type { Queryable } from './db.js';
import { fileContent, fileEtag, nodeColumns, rowToNode, writeMember, type NodeRow, type WrittenMember } from './nodes.js';
import { batcherPerDatabase, bumpAndWrite, BUMPED_CTE, LOGGED_CTES, type BatchKind, type BatchParent } from './write-batches.js';

export type { BatchParent } from './write-batches.js';

/** A small file to write: its name in the collection and its body, kept in its blobs row. */
export interface FileWrite {
  name: string;
  blob: { sha256: string; size: number; bytes: Buffer };
  contentType: string | null;
  /** 'absent': create only (If-None-Match: *); 'any': create or replace. */
  expected: 'any' | 'absent';
}

/**
 * The files, the change-log entries and the blob rows, in one statement whose snapshot, taken
 * after the bump's row lock, sees what any earlier writer of the collection committed
 * (writeMember explains). Runs only if the bump did.
 */
function writeSql(expected: 'any' | 'absent'): string {
  const onConflict =
    expected === 'absent'
      ? 'NOTHING'
      : `UPDATE SET blob_sha256 = EXCLUDED.blob_sha256, size = EXCLUDED.size, etag = EXCLUDED.etag,
              content_type = COALESCE(EXCLUDED.content_type, n.content_type), modified_at = now()
         WHERE n.kind = 'file'`;
  return `WITH input AS (
       SELECT i.*, substring($8::bytea FROM (sum(i.size) OVER (ORDER BY i.ord) - i.size + 1)::int FOR i.size::int) AS body
         FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[]) WITH ORDINALITY AS i (name, sha256, size, content_type, etag, ord)
     ), ${BUMPED_CTE}, previous AS (
       SELECT name, blob_sha256 FROM nodes WHERE user_id = $1 AND parent_id = $2 AND name = ANY ($3::text[])
     ), written AS (
       INSERT INTO nodes AS n (user_id, parent_id, name, kind, blob_sha256, size, content_type, etag)
       SELECT $1, $2, i.name, 'file', i.sha256, i.size, i.content_type, i.etag FROM input i, bumped ORDER BY i.ord
       ON CONFLICT (user_id, parent_id, name) DO ${onConflict}
       RETURNING ${nodeColumns('n')}, xmax = 0 AS created
     ), ${LOGGED_CTES}, claimed AS (
       INSERT INTO blobs (user_id, sha256, size, body)
       SELECT DISTINCT ON (i.sha256) $1::bigint, i.sha256, i.size, i.body FROM input i JOIN written w ON w.name = i.name ORDER BY i.sha256
       ${KEEP_EXISTING_ROW}
     )
     SELECT w.*, p.blob_sha256 AS previous_blob FROM written w LEFT JOIN previous p ON p.name = w.name`;
}
const WRITE_SQL = { any: writeSql('any'), absent: writeSql('absent') };

type WrittenRow = NodeRow & { created: boolean; previous_blob: string | null };

/** Writes one batch (distinct names) in two statements; by name, what was written. */
export async function writeFileBatch(tx: Queryable, parent: BatchParent, expected: 'any' | 'absent', writes: readonly FileWrite[]): Promise<Map<string, WrittenMember>> {
  const rows = await bumpAndWrite<WrittenRow>(tx, parent, writes.length, WRITE_SQL[expected], [
    parent.userId,
    parent.id,
    writes.map((w) => w.name),
    writes.map((w) => w.blob.sha256),
    writes.map((w) => w.blob.size),
    writes.map((w) => w.contentType),
    writes.map((w) => fileEtag(w.blob.sha256)),
    // One binary parameter: an array of bytea would travel as text, in hexadecimal.
    Buffer.concat(writes.map((w) => w.blob.bytes)),
  ]);
  return new Map(rows.map((row) => [row.name, { node: rowToNode(row), created: row.created, previousBlob: row.previous_blob }]));
}

/** Small files, as a kind of batched write. */
export const fileWrites: BatchKind<FileWrite> = {
  writeBatch: writeFileBatch,
  writeAlone: (db, parent, write) =>
    db.pipelined((tx) => writeMember(tx, parent, write.name, 'file', fileContent(write.blob, write.contentType), write.expected, blobClaimRow(parent.userId, write.blob)), { batchKey: parent.userId }),
};

/** The batcher of small files of a database. */
export const fileBatcher = batcherPerDatabase(fileWrites);
