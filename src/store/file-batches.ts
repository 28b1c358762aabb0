/**
 * Small files written together. Concurrent PUTs into one collection (a folder uploaded by
 * rclone, Finder or a sync client) each cost PostgreSQL two statements, and most of their cost
 * is per statement, not per row: the executor's start and end, the common table expressions,
 * the protocol exchange. While one batch of a collection is being written, the writes that
 * arrive for it wait and then go as one: two statements for the lot. A batch leaves on the next
 * turn of the event loop (setImmediate) after a write finds room for it or an answer makes room:
 * the uploads whose bodies finished in the same turn join it, and a lone PUT waits for no one.
 *
 * Only the plain case is batched: a file whose body is kept in its blobs row, into a plain
 * collection, with no precondition or If-None-Match: * (the forms writeMember checks itself).
 * A member the batch did not write (taken by a collection, or present for If-None-Match: *, or
 * the collection gone or locked) comes back undefined, as from writeMember, and the caller takes
 * the general path, which tells why. If a batch fails as a whole (quota, a lost connection),
 * each of its writes runs again alone, so each gets its own answer.
 */
import { blobClaimRow, KEEP_EXISTING_ROW } from './blobs.js';
import type { Database, Queryable } from './db.js';
import { fileContent, fileEtag, nodeColumns, writeMember, type NodeRow, type WrittenMember, rowToNode } from './nodes.js';

/** A small file to write: its name in the collection and its body, kept in its blobs row. */
export interface FileWrite {
  name: string;
  blob: { sha256: string; size: number; bytes: Buffer };
  contentType: string | null;
  /** 'absent': create only (If-None-Match: *); 'any': create or replace. */
  expected: 'any' | 'absent';
}

/** The collection written into. */
export interface BatchParent {
  userId: number;
  id: number;
  kind: 'collection';
}

interface Pending {
  write: FileWrite;
  resolve(written: WrittenMember | undefined): void;
  reject(error: unknown): void;
}

/** A collection's writes of one expectation: those waiting, and the batches sent and not yet answered. */
interface Queue {
  parent: BatchParent;
  expected: 'any' | 'absent';
  waiting: Pending[];
  inFlight: number;
  /** A batch is to leave on the next turn of the event loop. */
  scheduled: boolean;
}

/**
 * Files in one batch at most: bounds the statement (bodies are at most 64 KiB each) and what one
 * failure makes run twice.
 */
const MAX_BATCH = 32;
/**
 * Batches of a queue sent before the one before has answered: the next one's statements run
 * while the last one's commit reaches the disk.
 */
const BATCHES_IN_FLIGHT = 2;

/**
 * Moves the collection's token on by one per file, which takes its row as writeMember does (so
 * writers meet in the same order), unless it is gone, of another kind, or the user holds a
 * WebDAV lock.
 */
const BUMP = `UPDATE nodes SET sync_token = sync_token + $3, modified_at = now()
   WHERE user_id = $1 AND id = $2 AND kind = 'collection'
     AND NOT EXISTS (SELECT 1 FROM locks WHERE user_id = $1 AND expires_at > now())
   RETURNING sync_token`;

/**
 * The files, the change-log entries and the blob rows, in one statement whose snapshot, taken
 * after the row lock, sees what any earlier writer of the collection committed (writeMember
 * explains). Runs only if the bump did. Each file takes its own token of those the bump moved
 * over (RFC 6578 §3.2: a token per state), in the order of the input, and drops its name's older
 * entry. A body shared by two files of the batch is claimed once.
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
     ), bumped AS (
       SELECT sync_token - cardinality($3::text[]) AS base FROM nodes WHERE user_id = $1 AND id = $2 AND xmin = pg_current_xact_id()::xid
     ), previous AS (
       SELECT name, blob_sha256 FROM nodes WHERE user_id = $1 AND parent_id = $2 AND name = ANY ($3::text[])
     ), written AS (
       INSERT INTO nodes AS n (user_id, parent_id, name, kind, blob_sha256, size, content_type, etag)
       SELECT $1, $2, i.name, 'file', i.sha256, i.size, i.content_type, i.etag FROM input i, bumped ORDER BY i.ord
       ON CONFLICT (user_id, parent_id, name) DO ${onConflict}
       RETURNING ${nodeColumns('n')}, xmax = 0 AS created
     ), logged AS (
       INSERT INTO changes (user_id, collection_id, token, name, deleted)
       SELECT $1, $2, b.base + i.ord, w.name, false FROM written w JOIN input i ON i.name = w.name CROSS JOIN bumped b
       RETURNING token, name
     ), superseded AS (
       DELETE FROM changes c
        WHERE c.user_id = $1 AND c.collection_id = $2 AND c.name = ANY ($3::text[])
          AND c.token < (SELECT l.token FROM logged l WHERE l.name = c.name)
     ), claimed AS (
       INSERT INTO blobs (user_id, sha256, size, body)
       SELECT DISTINCT ON (i.sha256) $1::bigint, i.sha256, i.size, i.body FROM input i JOIN written w ON w.name = i.name ORDER BY i.sha256
       ${KEEP_EXISTING_ROW}
     )
     SELECT w.*, p.blob_sha256 AS previous_blob FROM written w LEFT JOIN previous p ON p.name = w.name`;
}
const WRITE_SQL = { any: writeSql('any'), absent: writeSql('absent') };

/**
 * The write's generic plan, for this transaction. A prepared statement is planned again for each
 * execution while its generic plan is estimated dearer than a plan for the values at hand, and
 * for arrays of unknown length the estimate is 10 rows: a batch of two or three was planned anew
 * every time, which cost the embedded database's thread more than the writing (2 000 writes in
 * batches of two: 0.98 ms of that thread per file, 0.66 ms with the generic plan).
 */
const GENERIC_PLAN = 'SET LOCAL plan_cache_mode = force_generic_plan';
const DEFAULT_PLAN = 'SET LOCAL plan_cache_mode = auto';

type WrittenRow = NodeRow & { created: boolean; previous_blob: string | null };

/** Writes one batch (distinct names) in two statements; by name, what was written. */
export async function writeFileBatch(tx: Queryable, parent: BatchParent, expected: 'any' | 'absent', writes: readonly FileWrite[]): Promise<Map<string, WrittenMember>> {
  const names = writes.map((w) => w.name);
  // See GENERIC_PLAN.
  const generic = tx.query(GENERIC_PLAN);
  const bump = tx.query(BUMP, [parent.userId, parent.id, writes.length]);
  const write = tx.query<WrittenRow>(WRITE_SQL[expected], [
    parent.userId,
    parent.id,
    names,
    writes.map((w) => w.blob.sha256),
    writes.map((w) => w.blob.size),
    writes.map((w) => w.contentType),
    writes.map((w) => fileEtag(w.blob.sha256)),
    // One binary parameter: an array of bytea would travel as text, in hexadecimal.
    Buffer.concat(writes.map((w) => w.blob.bytes)),
  ]);
  // Back to the default for what else shares the transaction (store/db.ts: group commit).
  const reset = tx.query(DEFAULT_PLAN);
  // All settle before this returns, whichever fails.
  const [planned, bumped, written, restored] = await Promise.allSettled([generic, bump, write, reset]);
  if (planned.status === 'rejected') throw planned.reason;
  if (bumped.status === 'rejected') throw bumped.reason;
  if (restored.status === 'rejected') throw restored.reason;
  if (written.status === 'rejected') throw written.reason;
  return new Map(written.value.map((row) => [row.name, { node: rowToNode(row), created: row.created, previousBlob: row.previous_blob }]));
}

/** Queues small-file writes per collection and writes each queue's waiting files as one batch. */
export class FileBatcher {
  readonly #queues = new Map<string, Queue>();

  constructor(private readonly db: Database) {}

  /** Writes `file` into `parent`, with others waiting for the same collection; undefined when not written (see above). */
  write(parent: BatchParent, file: FileWrite): Promise<WrittenMember | undefined> {
    const key = `${parent.userId}/${parent.id}/${file.expected}`;
    let queue = this.#queues.get(key);
    if (!queue) {
      queue = { parent, expected: file.expected, waiting: [], inFlight: 0, scheduled: false };
      this.#queues.set(key, queue);
    }
    const written = new Promise<WrittenMember | undefined>((resolve, reject) => queue.waiting.push({ write: file, resolve, reject }));
    if (queue.inFlight < BATCHES_IN_FLIGHT) this.#schedule(key, queue);
    return written;
  }

  /**
   * Sends the waiting writes on the next turn of the event loop, after the I/O callbacks already
   * due: the other uploads whose last bytes came in with this one join its batch. Sent at once,
   * a batch took what had arrived before the first: 2 000 files of 4 KiB by 8 clients on PGlite
   * went in batches of 2.6 on average, 3.1–3.4 this way, and the database thread paid ~630 µs a
   * batch against ~135 a file (0.45 ms per file in all).
   */
  #schedule(key: string, queue: Queue): void {
    if (queue.scheduled) return;
    queue.scheduled = true;
    setImmediate(() => {
      queue.scheduled = false;
      // Full: the answer that makes room schedules it again.
      if (queue.waiting.length > 0 && queue.inFlight < BATCHES_IN_FLIGHT) void this.#send(key, queue);
    });
  }

  async #send(key: string, queue: Queue): Promise<void> {
    const batch = takeBatch(queue.waiting);
    queue.inFlight++;
    try {
      const written = await this.db.pipelined((tx) => writeFileBatch(tx, queue.parent, queue.expected, batch.map((p) => p.write)), { batchKey: queue.parent.userId });
      for (const pending of batch) pending.resolve(written.get(pending.write.name));
    } catch {
      // One write may have failed them all (the quota, a name PostgreSQL refused): each alone.
      for (const pending of batch) this.#writeAlone(queue.parent, pending);
    } finally {
      queue.inFlight--;
      if (queue.waiting.length > 0) this.#schedule(key, queue);
      else if (queue.inFlight === 0) this.#queues.delete(key);
    }
  }

  #writeAlone(parent: BatchParent, { write, resolve, reject }: Pending): void {
    const content = fileContent(write.blob, write.contentType);
    const claim = blobClaimRow(parent.userId, write.blob);
    this.db.pipelined((tx) => writeMember(tx, parent, write.name, 'file', content, write.expected, claim), { batchKey: parent.userId }).then(resolve, reject);
  }
}

/**
 * Up to MAX_BATCH waiting writes, in order, of distinct names: one statement cannot write a row
 * twice, so a second write of a name waits for the next batch (and lands after the first).
 */
function takeBatch(waiting: Pending[]): Pending[] {
  const names = new Set<string>();
  const batch: Pending[] = [];
  let kept = 0;
  for (const pending of waiting) {
    if (batch.length < MAX_BATCH && !names.has(pending.write.name)) {
      names.add(pending.write.name);
      batch.push(pending);
    } else {
      waiting[kept++] = pending;
    }
  }
  waiting.length = kept;
  return batch;
}

const batchers = new WeakMap<Database, FileBatcher>();

/** The one batcher of a database (each process has one store). */
export function fileBatcher(db: Database): FileBatcher {
  let batcher = batchers.get(db);
  if (!batcher) {
    batcher = new FileBatcher(db);
    batchers.set(db, batcher);
  }
  return batcher;
}
