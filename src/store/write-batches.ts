/**
 * Members written together. Concurrent PUTs into one collection (a folder uploaded by rclone or
 * Finder, a calendar or address book imported or synced by a client) each cost PostgreSQL two
 * statements, and most of their cost is per statement, not per row: the executor's start and end,
 * the common table expressions, the protocol exchange. While one batch of a collection is being
 * written, the writes that arrive for it wait and then go as one: two statements for the lot. A
 * batch leaves on the next turn of the event loop (setImmediate) after a write finds room for it
 * or an answer makes room: the uploads whose bodies finished in the same turn join it, and a lone
 * PUT waits for no one.
 *
 * Only the plain case is batched: no precondition, or If-None-Match: * (the forms writeMember
 * checks itself). What a batch writes is its kind's (file-batches.ts, calendar-batches.ts,
 * card-batches.ts). A member the batch did not write (taken by another kind, or present for
 * If-None-Match: *, or the collection gone or locked) comes back undefined, as from writeMember,
 * and the caller takes the general path, which tells why. If a batch fails as a whole (quota, a
 * UID already taken, a lost connection), each of its writes runs again alone, so each gets its own
 * answer (a small file through its PUT's general path: file-batches.ts).
 *
 * A batch's collection is named by id, looked up by its writers, or by path (small files): then
 * the batch's statements find it themselves, and its writers need no lookup of their own.
 */
import type { Database, Queryable } from './db.js';
import { nodeColumns, nodeIdAtPathSql, rowToNode, type NodeContent, type NodeKind, type NodeRow, type WrittenMember } from './nodes.js';

/** The collection written into, found by the caller's lookup. */
export interface CollectionById {
  userId: number;
  id: number;
  kind: NodeKind;
}

/**
 * The collection written into, by its path (the first segment names a space root): the batch's
 * statements find it themselves, so its writers need no lookup of their own (file-batches.ts).
 */
export interface CollectionByPath {
  userId: number;
  path: readonly string[];
  kind: NodeKind;
}

export type BatchParent = CollectionById | CollectionByPath;

/** How a batch's statements name their collection's id: $2, or the walk of the path in $2. */
export function parentIdSql(parent: BatchParent): string {
  return 'id' in parent ? '$2' : nodeIdAtPathSql(parent.path.length);
}

/** One member to write: its name in the collection and what it expects there. */
export interface BatchedWrite {
  name: string;
  /** 'absent': create only (If-None-Match: *); 'any': create or replace. */
  expected: 'any' | 'absent';
}

/** How one kind of member is written in batches, into collections named as P. */
export interface BatchKind<W extends BatchedWrite, P extends BatchParent> {
  /** Writes one batch (distinct names) in the transaction; by name, what was written. */
  writeBatch(tx: Queryable, parent: P, expected: 'any' | 'absent', writes: readonly W[]): Promise<Map<string, WrittenMember>>;
  /** Writes one alone (its batch failed as a whole); undefined when nothing was written. */
  writeAlone(db: Database, parent: P, write: W): Promise<WrittenMember | undefined>;
}

interface Pending<W> {
  write: W;
  resolve(written: WrittenMember | undefined): void;
  reject(error: unknown): void;
}

/** A collection's writes of one expectation: those waiting, and the batches sent and not yet answered. */
interface Queue<W, P> {
  parent: P;
  expected: 'any' | 'absent';
  waiting: Pending<W>[];
  inFlight: number;
  /** A batch is to leave on the next turn of the event loop. */
  scheduled: boolean;
}

/**
 * Members in one batch at most: bounds the statement (files are at most 64 KiB each, calendar
 * objects and vCards at most their kind's maximum size) and what one failure makes run twice.
 */
const MAX_BATCH = 32;
/**
 * Batches of a queue sent before the one before has answered: the next one's statements run
 * while the last one's commit reaches the disk.
 */
const BATCHES_IN_FLIGHT = 2;

/**
 * Moves the collection's token on by one per member, which takes its row as writeMember does (so
 * writers meet in the same order), unless it is gone, of another kind, or the user holds a
 * WebDAV lock. The batch's statement reads the new token from the row this transaction updated.
 */
const bumpSql = (parentId: string) => `UPDATE nodes SET sync_token = sync_token + $3, modified_at = now()
   WHERE user_id = $1 AND id = ${parentId} AND kind = $4
     AND NOT EXISTS (SELECT 1 FROM locks WHERE user_id = $1 AND expires_at > now())
   RETURNING sync_token`;

/**
 * The write's generic plan, for this transaction. A prepared statement is planned again for each
 * execution while its generic plan is estimated dearer than a plan for the values at hand, and
 * for arrays of unknown length the estimate is 10 rows: a batch of two or three was planned anew
 * every time, which cost the embedded database's thread more than the writing (2 000 files in
 * batches of two: 0.98 ms of that thread per file, 0.66 ms with the generic plan).
 */
const GENERIC_PLAN = 'SET LOCAL plan_cache_mode = force_generic_plan';
const DEFAULT_PLAN = 'SET LOCAL plan_cache_mode = auto';

/**
 * Sends the bump of `count` tokens and the batch's statement (`sql`, whose $1 and $2 are the
 * user and the collection's id or path, $3 the array of names) together; the statement's rows.
 */
export async function bumpAndWrite<Row extends object>(tx: Queryable, parent: BatchParent, count: number, sql: string, params: unknown[]): Promise<Row[]> {
  // See GENERIC_PLAN.
  const generic = tx.query(GENERIC_PLAN);
  const bump = tx.query(bumpSql(parentIdSql(parent)), [parent.userId, 'id' in parent ? parent.id : parent.path, count, parent.kind]);
  const write = tx.query<Row>(sql, params);
  // Back to the default for what else shares the transaction (store/db.ts: group commit).
  const reset = tx.query(DEFAULT_PLAN);
  // All settle before this returns, whichever fails.
  const [planned, bumped, written, restored] = await Promise.allSettled([generic, bump, write, reset]);
  if (planned.status === 'rejected') throw planned.reason;
  if (bumped.status === 'rejected') throw bumped.reason;
  if (restored.status === 'rejected') throw restored.reason;
  if (written.status === 'rejected') throw written.reason;
  return written.value;
}

/**
 * The common table expressions a batch's statement starts with: `bumped` (the collection's id,
 * `parentId` (parentIdSql), and its token before the batch, read from the row the bump updated
 * in this transaction) and, after the caller's `written`, `logged` and `superseded`: each member
 * takes its own token of those the bump moved over (RFC 6578 §3.2: a token per state), in the
 * order of `input` (its `ord`), and drops its name's older entry. $3 is the array of names.
 */
export const bumpedCte = (parentId: string) => `bumped AS (
       SELECT id, sync_token - cardinality($3::text[]) AS base FROM nodes WHERE user_id = $1 AND id = ${parentId} AND xmin = pg_current_xact_id()::xid
     )`;
export const LOGGED_CTES = `logged AS (
       INSERT INTO changes (user_id, collection_id, token, name, deleted)
       SELECT $1, b.id, b.base + i.ord, w.name, false FROM written w JOIN input i ON i.name = w.name CROSS JOIN bumped b
       RETURNING token, name
     ), superseded AS (
       DELETE FROM changes c
        WHERE c.user_id = $1 AND c.collection_id = (SELECT id FROM bumped) AND c.name = ANY ($3::text[])
          AND c.token < (SELECT l.token FROM logged l WHERE l.name = c.name)
     )`;

/** Queues writes per collection and writes each queue's waiting members as one batch. */
export class WriteBatcher<W extends BatchedWrite, P extends BatchParent> {
  readonly #queues = new Map<string, Queue<W, P>>();

  constructor(
    private readonly db: Database,
    private readonly kind: BatchKind<W, P>,
  ) {}

  /** Writes `member` into `parent`, with others waiting for the same collection; undefined when not written (see above). */
  write(parent: P, member: W): Promise<WrittenMember | undefined> {
    // A path's segments hold no '/'; an id is digits.
    const key = `${parent.userId}/${'id' in parent ? parent.id : parent.path.join('/')}/${member.expected}`;
    let queue = this.#queues.get(key);
    if (!queue) {
      queue = { parent, expected: member.expected, waiting: [], inFlight: 0, scheduled: false };
      this.#queues.set(key, queue);
    }
    const written = new Promise<WrittenMember | undefined>((resolve, reject) => queue.waiting.push({ write: member, resolve, reject }));
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
  #schedule(key: string, queue: Queue<W, P>): void {
    if (queue.scheduled) return;
    queue.scheduled = true;
    setImmediate(() => {
      queue.scheduled = false;
      // Full: the answer that makes room schedules it again.
      if (queue.waiting.length > 0 && queue.inFlight < BATCHES_IN_FLIGHT) void this.#send(key, queue);
    });
  }

  async #send(key: string, queue: Queue<W, P>): Promise<void> {
    const batch = takeBatch(queue.waiting);
    queue.inFlight++;
    try {
      const written = await this.db.pipelined((tx) => this.kind.writeBatch(tx, queue.parent, queue.expected, batch.map((p) => p.write)), { batchKey: queue.parent.userId });
      for (const pending of batch) pending.resolve(written.get(pending.write.name));
    } catch {
      // One write may have failed them all (the quota, a UID, a name PostgreSQL refused): each alone.
      for (const { write, resolve, reject } of batch) this.kind.writeAlone(this.db, queue.parent, write).then(resolve, reject);
    } finally {
      queue.inFlight--;
      if (queue.waiting.length > 0) this.#schedule(key, queue);
      else if (queue.inFlight === 0) this.#queues.delete(key);
    }
  }
}

/**
 * Up to MAX_BATCH waiting writes, in order, of distinct names: one statement cannot write a row
 * twice, so a second write of a name waits for the next batch (and lands after the first).
 */
function takeBatch<W extends BatchedWrite>(waiting: Pending<W>[]): Pending<W>[] {
  const names = new Set<string>();
  const batch: Pending<W>[] = [];
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

/** One batcher of a kind per database (each process has one store): the getter. */
export function batcherPerDatabase<W extends BatchedWrite, P extends BatchParent>(kind: BatchKind<W, P>): (db: Database) => WriteBatcher<W, P> {
  const batchers = new WeakMap<Database, WriteBatcher<W, P>>();
  return (db) => {
    let batcher = batchers.get(db);
    if (!batcher) {
      batcher = new WriteBatcher(db, kind);
      batchers.set(db, batcher);
    }
    return batcher;
  };
}

/** A text object kept in the database (a calendar object, a vCard): its name, what it expects there, its node content. */
export interface TextObjectWrite extends BatchedWrite {
  content: NodeContent;
}

/**
 * The statement of a batch of text objects of `kind`: `input` holds, by the object's place in
 * the batch (`ord`), its name, size, content type and ETag ($3–$6) and the kind's own `columns`
 * ($7 on, each an array of its SQL type); `written` is the nodes; then the change-log entries and
 * the kind's `ctes`, which read `written` and `input`.
 */
export function textObjectBatchSql(kind: NodeKind, expected: 'any' | 'absent', columns: ReadonlyArray<readonly [name: string, type: string]>, ctes: string): string {
  const onConflict =
    expected === 'absent'
      ? 'NOTHING'
      : `UPDATE SET size = EXCLUDED.size, etag = EXCLUDED.etag, content_type = EXCLUDED.content_type, modified_at = now()
         WHERE n.kind = '${kind}'`;
  const arrays = columns.map(([, type], i) => `$${i + 7}::${type}[]`).join(', ');
  return `WITH input AS (
       SELECT * FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], ${arrays})
         WITH ORDINALITY AS i (name, size, content_type, etag, ${columns.map(([name]) => name).join(', ')}, ord)
     ), ${bumpedCte('$2')}, written AS (
       INSERT INTO nodes AS n (user_id, parent_id, name, kind, size, content_type, etag)
       SELECT $1, $2, i.name, '${kind}', i.size, i.content_type, i.etag FROM input i, bumped ORDER BY i.ord
       ON CONFLICT (user_id, parent_id, name) DO ${onConflict}
       RETURNING ${nodeColumns('n')}, xmax = 0 AS created
     ), ${LOGGED_CTES}, ${ctes}
     SELECT * FROM written`;
}

/** Writes a batch of text objects with `sql` (textObjectBatchSql), the kind's `columns` after the nodes'; by name, what was written. */
export async function writeTextObjectBatch(tx: Queryable, parent: CollectionById, sql: string, writes: readonly TextObjectWrite[], columns: readonly unknown[][]): Promise<Map<string, WrittenMember>> {
  const rows = await bumpAndWrite<NodeRow & { created: boolean }>(tx, parent, writes.length, sql, [
    parent.userId,
    parent.id,
    writes.map((w) => w.name),
    writes.map((w) => w.content.size),
    writes.map((w) => w.content.contentType),
    writes.map((w) => w.content.etag),
    ...columns,
  ]);
  return new Map(rows.map((row) => [row.name, { node: rowToNode(row), created: row.created, previousBlob: null }]));
}
