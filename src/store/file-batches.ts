/**
 * Small files written in batches (write-batches.ts): a file whose body is kept in its blobs row,
 * into a folder named by its path. The batch's statements find the folder themselves, so a PUT
 * of a small file costs no lookup of its own (dav/methods/put.ts): of 2 000 files of 4 KiB by 8
 * clients on PGlite, that lookup was 80 µs of the database thread's 0.5 ms per file, and a round
 * trip that queued behind the batches. The statement writes the files, their change-log entries
 * and their blob rows; a body shared by two files of the batch is claimed once.
 */
import { KEEP_EXISTING_ROW } from './blobs.js';
import type { Queryable } from './db.js';
import { fileEtag, nodeColumns, rowToNode, type NodeRow, type WrittenMember } from './nodes.js';
import { batcherPerDatabase, bumpAndWrite, bumpedCte, LOGGED_CTES, parentIdSql, type BatchKind, type CollectionByPath } from './write-batches.js';

/** A folder of the files space, by the names from the space's root ('files') down. */
export type Folder = CollectionByPath & { kind: 'collection' };

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
 * (writeMember explains). Runs only if the bump did; `parentId` finds the folder (parentIdSql).
 */
function writeSql(expected: 'any' | 'absent', parentId: string): string {
  const onConflict =
    expected === 'absent'
      ? 'NOTHING'
      : `UPDATE SET blob_sha256 = EXCLUDED.blob_sha256, size = EXCLUDED.size, etag = EXCLUDED.etag,
              content_type = COALESCE(EXCLUDED.content_type, n.content_type), modified_at = now()
         WHERE n.kind = 'file'`;
  return `WITH input AS (
       SELECT i.*, substring($8::bytea FROM (sum(i.size) OVER (ORDER BY i.ord) - i.size + 1)::int FOR i.size::int) AS body
         FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[]) WITH ORDINALITY AS i (name, sha256, size, content_type, etag, ord)
     ), ${bumpedCte(parentId)}, previous AS (
       SELECT name, blob_sha256 FROM nodes WHERE user_id = $1 AND parent_id = (SELECT id FROM bumped) AND name = ANY ($3::text[])
     ), written AS (
       INSERT INTO nodes AS n (user_id, parent_id, name, kind, blob_sha256, size, content_type, etag)
       SELECT $1, b.id, i.name, 'file', i.sha256, i.size, i.content_type, i.etag FROM input i, bumped b ORDER BY i.ord
       ON CONFLICT (user_id, parent_id, name) DO ${onConflict}
       RETURNING ${nodeColumns('n')}, xmax = 0 AS created
     ), ${LOGGED_CTES}, claimed AS (
       INSERT INTO blobs (user_id, sha256, size, body)
       SELECT DISTINCT ON (i.sha256) $1::bigint, i.sha256, i.size, i.body FROM input i JOIN written w ON w.name = i.name ORDER BY i.sha256
       ${KEEP_EXISTING_ROW}
     )
     SELECT w.*, p.blob_sha256 AS previous_blob FROM written w LEFT JOIN previous p ON p.name = w.name`;
}
/** The statements, by expectation and by the walk that finds the folder (one per depth). */
const WRITE_SQL = { any: new Map<string, string>(), absent: new Map<string, string>() };
function writeSqlFor(expected: 'any' | 'absent', folder: Folder): string {
  const parentId = parentIdSql(folder);
  let sql = WRITE_SQL[expected].get(parentId);
  if (!sql) WRITE_SQL[expected].set(parentId, (sql = writeSql(expected, parentId)));
  return sql;
}

type WrittenRow = NodeRow & { created: boolean; previous_blob: string | null };

/** Writes one batch (distinct names) in two statements; by name, what was written (nothing if the folder is not there). */
export async function writeFileBatch(tx: Queryable, folder: Folder, expected: 'any' | 'absent', writes: readonly FileWrite[]): Promise<Map<string, WrittenMember>> {
  const rows = await bumpAndWrite<WrittenRow>(tx, folder, writes.length, writeSqlFor(expected, folder), [
    folder.userId,
    folder.path,
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

/**
 * Small files, as a kind of batched write. One whose batch failed as a whole is not written: its
 * PUT then looks the folder up and writes it alone, with every check (dav/methods/put.ts).
 */
export const fileWrites: BatchKind<FileWrite, Folder> = {
  writeBatch: writeFileBatch,
  writeAlone: () => Promise.resolve(undefined),
};

/** The batcher of small files of a database. */
export const fileBatcher = batcherPerDatabase(fileWrites);
