import type { CalendarSettings } from './calendars.js';
import type { Queryable } from './db.js';

export type NodeKind = 'collection' | 'file' | 'calendar' | 'calendar-object' | 'addressbook' | 'address-object';

const COLLECTION_KINDS: ReadonlySet<NodeKind> = new Set(['collection', 'calendar', 'addressbook']);

/** Whether a node holds members: a plain collection, a calendar or an address book. */
export function isCollection(node: { kind: NodeKind } | undefined): boolean {
  return node !== undefined && COLLECTION_KINDS.has(node.kind);
}

/** One resource of a user's tree: a collection or a file whose bytes are in the blob store. */
export interface Node {
  userId: number;
  id: number;
  parentId: number | null;
  name: string;
  kind: NodeKind;
  blobSha256: string | null;
  size: number;
  contentType: string | null;
  /** Strong entity tag, quotes included. */
  etag: string;
  syncToken: number;
  createdAt: Date;
  modifiedAt: Date;
}

/** A nodes row as the database returns it. */
export interface NodeRow {
  user_id: number;
  id: number;
  parent_id: number | null;
  name: string;
  kind: NodeKind;
  blob_sha256: string | null;
  size: number;
  content_type: string | null;
  etag: string;
  sync_token: number;
  created_at: Date;
  modified_at: Date;
}

const COLUMNS = 'user_id, id, parent_id, name, kind, blob_sha256, size, content_type, etag, sync_token, created_at, modified_at';

/** The columns rowToNode reads, qualified by a table alias (for joins). */
export function nodeColumns(alias: string): string {
  return COLUMNS.split(', ').map((c) => `${alias}.${c}`).join(', ');
}

export function rowToNode(row: NodeRow): Node {
  return {
    userId: row.user_id,
    id: row.id,
    parentId: row.parent_id,
    name: row.name,
    kind: row.kind,
    blobSha256: row.blob_sha256,
    size: row.size,
    contentType: row.content_type,
    // A collection's tag follows its sync token, so it changes whenever a member does.
    etag: isCollection(row) ? `"c${row.id}-${row.sync_token}"` : row.etag,
    syncToken: row.sync_token,
    createdAt: row.created_at,
    modifiedAt: row.modified_at,
  };
}

/** A file's entity tag: its content hash, so it changes exactly when the bytes do. */
export function fileEtag(sha256: string): string {
  return `"${sha256.slice(0, 40)}"`;
}

/** A file's content fields for a body of this hash and size. */
export function fileContent(blob: { sha256: string; size: number }, contentType: string | null): NodeContent {
  return { blobSha256: blob.sha256, size: blob.size, contentType, etag: fileEtag(blob.sha256) };
}

export interface Resolution {
  /** The node at the full path, when it exists. */
  node?: Node;
  /** The node one segment up, when it exists. */
  parent?: Node;
  /** The node's text, when asked for and it is kept in the database (a calendar object, a vCard). */
  text?: string;
  /** The parent's settings, when asked for and the parent is a calendar. */
  parentCalendar?: CalendarSettings;
}

/** Where the text of a node kept in the database lives (calendars.ts, addressbooks.ts), by kind. */
const TEXT_TABLES: Partial<Record<NodeKind, string>> = { 'calendar-object': 'calendar_objects', 'address-object': 'address_objects' };
/** The found node's text, for resolvePath's `withText`: read for the last segment's row only. */
const FOUND_TEXT = `CASE WHEN walk.depth = cardinality($2::text[]) THEN CASE walk.kind ${Object.entries(TEXT_TABLES)
  .map(([kind, table]) => `WHEN '${kind}' THEN (SELECT t.data FROM ${table} t WHERE t.user_id = walk.user_id AND t.node_id = walk.id)`)
  .join(' ')} END END`;

/** The parent's calendar settings, for resolvePath's `withCalendar`: joined to the parent's row only. */
const PARENT_CALENDAR = `LEFT JOIN calendars k ON walk.kind = 'calendar' AND walk.depth = cardinality($2::text[]) - 1
       AND k.user_id = walk.user_id AND k.node_id = walk.id`;

/** What the walk adds to its rows when asked: the found node's text, the parent's calendar settings. */
const extras = (text: boolean, calendar: boolean) => `${text ? `, ${FOUND_TEXT} AS text` : ''}${calendar ? ', k.components AS calendar_components, k.timezone AS calendar_timezone' : ''}`;

/** The recursive path walk (resolvePath), for paths deeper than MAX_CHAINED_DEPTH. */
const recursiveWalkSql = (text: boolean, calendar: boolean) => `WITH RECURSIVE walk AS (
       SELECT ${COLUMNS}, 1 AS depth FROM nodes
        WHERE user_id = $1 AND parent_id IS NULL AND name = ($2::text[])[1]
       UNION ALL
       SELECT ${nodeColumns('c')}, w.depth + 1
         FROM walk w JOIN nodes c ON c.user_id = w.user_id AND c.parent_id = w.id AND c.name = ($2::text[])[w.depth + 1]
        WHERE w.depth < cardinality($2::text[])
     )
     SELECT walk.*${extras(text, calendar)}
       FROM walk${calendar ? ` ${PARENT_CALENDAR}` : ''} ORDER BY depth DESC LIMIT 2`;

/** The join condition of the chained walks' node for segment `i` ($1 the user, $2 the segments). */
const segment = (i: number) => `n${i}.user_id = $1 AND n${i}.name = ($2::text[])[${i}]`;

/**
 * The walk of a path of `depth` segments as a chain of joins, one per segment: the node (when it
 * exists) and its parent, as the rows of depth `depth` and `depth - 1`. For three segments it
 * took 90 µs of the embedded database's thread, the recursive walk 200 µs.
 */
function chainedWalkSql(depth: number, text: boolean, calendar: boolean): string {
  if (depth === 1) return `SELECT walk.*${extras(text, calendar)} FROM (SELECT ${COLUMNS}, 1 AS depth FROM nodes n1 WHERE ${segment(1)} AND n1.parent_id IS NULL) walk${calendar ? ` ${PARENT_CALENDAR}` : ''}`;
  let joins = '';
  for (let i = 2; i < depth; i++) joins += ` JOIN nodes n${i} ON ${segment(i)} AND n${i}.parent_id = n${i - 1}.id`;
  joins += ` LEFT JOIN nodes n${depth} ON ${segment(depth)} AND n${depth}.parent_id = n${depth - 1}.id`;
  const rows = `SELECT ${nodeColumns(`n${depth - 1}`)}, ${depth - 1} AS depth UNION ALL SELECT ${nodeColumns(`n${depth}`)}, ${depth} WHERE n${depth}.id IS NOT NULL`;
  return `SELECT walk.*${extras(text, calendar)}
       FROM nodes n1${joins} CROSS JOIN LATERAL (${rows}) walk${calendar ? ` ${PARENT_CALENDAR}` : ''}
      WHERE ${segment(1)} AND n1.parent_id IS NULL`;
}

/** Paths up to this many segments are walked by a chain of joins, deeper ones recursively. */
const MAX_CHAINED_DEPTH = 16;

/**
 * Built once each, as the walk runs for nearly every request: by depth (0 for the recursive
 * walk), then withText + 2 × withCalendar.
 */
const WALKS = Array.from({ length: MAX_CHAINED_DEPTH + 1 }, (_, depth) =>
  [false, true].flatMap((calendar) => [false, true].map((text) => (depth === 0 ? recursiveWalkSql(text, calendar) : chainedWalkSql(depth, text, calendar)))),
);

/** nodeIdAtPath's subqueries, by depth (0: the recursive walk). */
const ID_WALKS = Array.from({ length: MAX_CHAINED_DEPTH + 1 }, (_, depth) => {
  if (depth === 0) {
    return `(WITH RECURSIVE walk AS (
         SELECT id, 1 AS depth FROM nodes WHERE user_id = $1 AND parent_id IS NULL AND name = ($2::text[])[1]
         UNION ALL
         SELECT c.id, w.depth + 1 FROM walk w JOIN nodes c ON c.user_id = $1 AND c.parent_id = w.id AND c.name = ($2::text[])[w.depth + 1]
          WHERE w.depth < cardinality($2::text[])
       ) SELECT id FROM walk WHERE depth = cardinality($2::text[]))`;
  }
  let joins = '';
  for (let i = 2; i <= depth; i++) joins += ` JOIN nodes n${i} ON ${segment(i)} AND n${i}.parent_id = n${i - 1}.id`;
  return `(SELECT n${depth}.id FROM nodes n1${joins} WHERE ${segment(1)} AND n1.parent_id IS NULL)`;
});

/**
 * The id of the node at a path of `depth` segments (the first names a space root), as a scalar
 * subquery of a statement whose $1 is the user and $2 the segments: NULL when nothing is there.
 * A statement that finds its collection itself needs no lookup of its own (file-batches.ts).
 */
export function nodeIdAtPathSql(depth: number): string {
  return ID_WALKS[depth <= MAX_CHAINED_DEPTH ? depth : 0]!;
}

interface WalkRow extends NodeRow {
  depth: number;
  text?: string | null;
  calendar_components?: string[] | null;
  calendar_timezone?: string | null;
}

/**
 * Finds the node at `segments` (the first names a space root) and its parent, in one query;
 * `withText` also reads the node's text when the database keeps it, so that a GET of a calendar
 * object or a vCard takes one statement, not two; `withCalendar` the parent's settings when it is
 * a calendar, which a PUT into it validates against.
 */
export async function resolvePath(q: Queryable, userId: number, segments: readonly string[], { withText = false, withCalendar = false } = {}): Promise<Resolution> {
  if (segments.length === 0) return {};
  const walks = WALKS[segments.length <= MAX_CHAINED_DEPTH ? segments.length : 0]!;
  const rows = await q.query<WalkRow>(walks[Number(withText) + 2 * Number(withCalendar)]!, [userId, segments]);
  const result: Resolution = {};
  for (const row of rows) {
    if (row.depth === segments.length) {
      result.node = rowToNode(row);
      if (typeof row.text === 'string') result.text = row.text;
    } else if (row.depth === segments.length - 1) {
      result.parent = rowToNode(row);
      if (row.calendar_components) result.parentCalendar = { components: row.calendar_components, timezone: row.calendar_timezone ?? null };
    }
  }
  return result;
}

export async function getNode(q: Queryable, userId: number, id: number, forUpdate = false): Promise<Node | undefined> {
  const rows = await q.query<NodeRow>(
    `SELECT ${COLUMNS} FROM nodes WHERE user_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [userId, id],
  );
  return rows[0] && rowToNode(rows[0]);
}

export async function listChildren(q: Queryable, userId: number, parentId: number): Promise<Node[]> {
  const rows = await q.query<NodeRow>(
    `SELECT ${COLUMNS} FROM nodes WHERE user_id = $1 AND parent_id = $2 ORDER BY name`,
    [userId, parentId],
  );
  return rows.map(rowToNode);
}

/** The members of a collection with the given names, by name (one indexed query). */
export async function findChildren(q: Queryable, userId: number, parentId: number, names: readonly string[]): Promise<Map<string, Node>> {
  const rows = await q.query<NodeRow>(
    `SELECT ${COLUMNS} FROM nodes WHERE user_id = $1 AND parent_id = $2 AND name = ANY($3::text[])`,
    [userId, parentId, names],
  );
  return new Map(rows.map((row) => [row.name, rowToNode(row)]));
}

export interface Descendant {
  node: Node;
  /** Names from the starting node down to this one (empty for the start itself). */
  path: string[];
}

/** The node and everything below it, parents before children, at most `limit` rows. */
export async function listSubtree(q: Queryable, userId: number, rootId: number, limit: number): Promise<Descendant[]> {
  const rows = await q.query<NodeRow & { path: string[] }>(
    `WITH RECURSIVE tree AS (
       SELECT ${COLUMNS}, ARRAY[]::text[] COLLATE "C" AS path FROM nodes WHERE user_id = $1 AND id = $2
       UNION ALL
       SELECT ${nodeColumns('c')}, t.path || c.name
         FROM tree t JOIN nodes c ON c.user_id = t.user_id AND c.parent_id = t.id
     )
     SELECT * FROM tree ORDER BY cardinality(path), path LIMIT $3`,
    [userId, rootId, limit],
  );
  return rows.map((row) => ({ node: rowToNode(row), path: row.path }));
}

/**
 * Moves a collection's sync token on and logs a member change (RFC 6578), as CTEs to put in
 * front of a writer's statement: $1 is the user, $2 the collection (none when NULL), $3 the
 * member's name; `deleted` and `collection` are SQL for the change kind and whether the member
 * removed was a collection.
 */
function changeCte(deleted: string, collection = 'false'): string {
  return `bump AS (
       UPDATE nodes SET sync_token = sync_token + 1, modified_at = now()
        WHERE user_id = $1 AND id = $2 RETURNING sync_token
     ), logged AS (
       INSERT INTO changes (user_id, collection_id, token, name, deleted, collection)
       SELECT $1, $2, sync_token, $3, ${deleted}, ${collection} FROM bump RETURNING token
     ), ${supersededCte('logged')}`;
}

/**
 * Drops the change-log entries of member $3 of collection $2 older than the one `logged` adds.
 * A sync reads only each name's latest change after the client's token (store/changes.ts), so
 * an older entry of the same name never changes an answer; without this the log would grow by
 * one row per edit, forever. The collection's row lock orders writers of one name, and the
 * statement's snapshot holds every earlier entry.
 */
function supersededCte(logged: string): string {
  return `superseded AS (
       DELETE FROM changes c USING ${logged} l
        WHERE c.user_id = $1 AND c.collection_id = $2 AND c.name = $3 AND c.token < l.token
     )`;
}

/**
 * Records a member change in a collection's RFC 6578 log and moves its sync token on; a removal
 * says whether the member was a collection (a sync reports it by that href).
 */
export async function recordChange(tx: Queryable, userId: number, collectionId: number, name: string, removed?: { collection: boolean }): Promise<void> {
  await tx.query(`WITH ${changeCte('$4', '$5')} SELECT count(*) FROM logged`, [userId, collectionId, name, removed !== undefined, removed?.collection ?? false]);
}

/** A collection and its member locked for a write (lockMember). */
export interface LockedMember {
  parent?: Node;
  member?: Node;
  /** Whether the user holds any unexpired WebDAV lock, read once both rows were locked. */
  locksHeld: boolean;
}

/**
 * Locks a collection and its member named `name` (if any) for a write; the parent's row lock
 * orders concurrent writers of the same name. Two statements: the member is looked up only once
 * the parent is locked, so on PostgreSQL it is seen even when a writer that held the parent
 * created it meanwhile (one statement's snapshot predates that commit: the second of two
 * concurrent creations would then insert again, or find its own UID taken). The second also
 * tells whether the user holds any WebDAV lock, so that a write needs no lock list when none is.
 */
export async function lockMember(tx: Queryable, userId: number, parentId: number, name: string): Promise<LockedMember> {
  const parents = await tx.query<NodeRow>(`SELECT ${COLUMNS} FROM nodes WHERE user_id = $1 AND id = $2 FOR UPDATE`, [userId, parentId]);
  if (!parents[0]) return { locksHeld: false };
  // One row: the member's columns are all NULL when there is none.
  const [row] = await tx.query<(NodeRow | { [K in keyof NodeRow]: null }) & { locks_held: boolean }>(
    `WITH member AS (SELECT ${COLUMNS} FROM nodes WHERE user_id = $1 AND parent_id = $2 AND name = $3 FOR UPDATE)
     SELECT m.*, EXISTS (SELECT 1 FROM locks WHERE user_id = $1 AND expires_at > now()) AS locks_held
       FROM (SELECT 1) AS one LEFT JOIN member m ON true`,
    [userId, parentId, name],
  );
  const result: LockedMember = { parent: rowToNode(parents[0]), locksHeld: row!.locks_held };
  if (row!.id !== null) result.member = rowToNode(row!);
  return result;
}

export interface NewNode {
  userId: number;
  parentId: number | null;
  name: string;
  kind: NodeKind;
  blobSha256?: string | null;
  size?: number;
  contentType?: string | null;
  /** Defaults to the blob's hash; content kept in the database passes its own. */
  etag?: string;
}

/** A resource's content: a blob's bytes, or (etag given, no blob) text kept in the database. */
export interface NodeContent {
  blobSha256: string | null;
  size: number;
  contentType: string | null;
  etag: string;
}

/**
 * Rows written beside a node by the same statement (a calendar object's index row): bodies of
 * common table expressions that read the node just inserted or updated from `written`. Their
 * parameters are numbered after the node's, from `first`.
 */
export interface Beside {
  statements(first: number): string[];
  params: readonly unknown[];
}

/** The CTEs of `beside`, with its parameters appended to `params`. */
function besideCtes(beside: Beside | undefined, params: unknown[]): string {
  if (!beside) return '';
  const first = params.length + 1;
  params.push(...beside.params);
  return beside.statements(first).map((sql, i) => `, beside${i} AS (${sql})`).join('');
}

export async function insertNode(tx: Queryable, fields: NewNode, beside?: Beside): Promise<Node> {
  const sha = fields.blobSha256 ?? null;
  const params: unknown[] = [fields.userId, fields.parentId, fields.name, fields.kind, sha, fields.size ?? 0, fields.contentType ?? null, fields.etag ?? (sha ? fileEtag(sha) : '""')];
  const rows = await tx.query<NodeRow>(
    `WITH written AS (
       INSERT INTO nodes (user_id, parent_id, name, kind, blob_sha256, size, content_type, etag)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}
     ), ${changeCte('false')}${besideCtes(beside, params)}
     SELECT * FROM written`,
    params,
  );
  return rowToNode(rows[0]!);
}

/** A member written by writeMember. */
export interface WrittenMember {
  node: Node;
  created: boolean;
  /** The body the member had before (null: none), to collect if nothing else uses it. */
  previousBlob: string | null;
}

/**
 * What a write expects of the member it replaces: nothing (a write without precondition), no
 * member at all (If-None-Match: *), or the member of this strong ETag (If-Match).
 */
export type ExpectedMember = 'any' | 'absent' | { etag: string };

/**
 * Creates or replaces the member `name` of kind `kind` in a collection, for a write whose only
 * precondition is `expected`, in two statements sent together (on PostgreSQL, one round trip).
 * The first moves the collection's sync token on, which takes its row as lockMember does (so
 * writers meet in the same order), unless the collection is gone or of another kind than
 * `parent`'s, the user holds a WebDAV lock, the member is of another kind, or it is not as
 * expected. The second runs only if the first did (the collection's row is then this
 * transaction's own version), and its snapshot, taken after the row lock, sees what any earlier
 * writer of the collection committed: it writes the node (an upsert on the name's unique key; an
 * insert that does nothing on a conflict for 'absent'; an update of that version only for an
 * ETag) with the new token in its change-log entry, the rows `beside` it, and reads the body it
 * replaces. Undefined when nothing was written: the caller then takes the general path, which
 * tells why.
 */
export async function writeMember(
  tx: Queryable,
  parent: { userId: number; id: number; kind: NodeKind },
  name: string,
  kind: NodeKind,
  content: NodeContent,
  expected: ExpectedMember,
  beside?: Beside,
): Promise<WrittenMember | undefined> {
  const bumpParams: unknown[] = [parent.userId, parent.id, parent.kind, name];
  const member = 'FROM nodes m WHERE m.user_id = $1 AND m.parent_id = $2 AND m.name = $4';
  const asExpected =
    expected === 'any' ? `NOT EXISTS (SELECT 1 ${member} AND m.kind <> $${bumpParams.push(kind)})`
    : expected === 'absent' ? `NOT EXISTS (SELECT 1 ${member})`
    : `EXISTS (SELECT 1 ${member} AND m.kind = $${bumpParams.push(kind)} AND m.etag = $${bumpParams.push(expected.etag)})`;
  const bump = tx.query<{ sync_token: number }>(
    `UPDATE nodes SET sync_token = sync_token + 1, modified_at = now()
      WHERE user_id = $1 AND id = $2 AND kind = $3
        AND NOT EXISTS (SELECT 1 FROM locks WHERE user_id = $1 AND expires_at > now())
        AND ${asExpected}
      RETURNING sync_token`,
    bumpParams,
  );
  const params: unknown[] = [parent.userId, parent.id, name, kind, content.blobSha256, content.size, content.contentType, content.etag];
  // The member as this statement's snapshot has it is checked again, by the write itself.
  const writeStatement =
    typeof expected === 'object'
      ? `UPDATE nodes AS n SET blob_sha256 = $5, size = $6, etag = $8, content_type = COALESCE($7, n.content_type), modified_at = now()
           FROM bumped
          WHERE n.user_id = $1 AND n.parent_id = $2 AND n.name = $3 AND n.kind = $4 AND n.etag = $${params.push(expected.etag)}
         RETURNING ${nodeColumns('n')}, false AS created`
      : `INSERT INTO nodes AS n (user_id, parent_id, name, kind, blob_sha256, size, content_type, etag)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM bumped
         ON CONFLICT (user_id, parent_id, name) DO ${expected === 'absent' ? 'NOTHING' : `UPDATE
            SET blob_sha256 = EXCLUDED.blob_sha256, size = EXCLUDED.size, etag = EXCLUDED.etag,
                content_type = COALESCE(EXCLUDED.content_type, n.content_type), modified_at = now()
          WHERE n.kind = $4`}
         RETURNING ${COLUMNS}, xmax = 0 AS created`;
  const write = tx.query<NodeRow & { created: boolean; previous_blob: string | null }>(
    `WITH bumped AS (
       SELECT sync_token FROM nodes WHERE user_id = $1 AND id = $2 AND xmin = pg_current_xact_id()::xid
     ), previous AS (
       SELECT blob_sha256 FROM nodes WHERE user_id = $1 AND parent_id = $2 AND name = $3
     ), written AS (
       ${writeStatement}
     ), logged AS (
       INSERT INTO changes (user_id, collection_id, token, name, deleted) SELECT $1, $2, bumped.sync_token, $3, false FROM written, bumped RETURNING token
     ), ${supersededCte('logged')}${besideCtes(beside, params)}
     SELECT written.*, (SELECT blob_sha256 FROM previous) AS previous_blob FROM written`,
    params,
  );
  // Both settle before this returns, whichever fails.
  const [bumpedRows, written] = await Promise.allSettled([bump, write]);
  if (bumpedRows.status === 'rejected') throw bumpedRows.reason;
  if (written.status === 'rejected') throw written.reason;
  const [bumped] = bumpedRows.value;
  const [row] = written.value;
  if (!bumped) return undefined;
  // Nothing written (since the first statement's snapshot the name was taken by another kind, or
  // the member is no longer as expected): the token has moved on without a change, which costs a
  // client at most an empty sync.
  if (!row) return undefined;
  return { node: rowToNode(row), created: row.created, previousBlob: row.previous_blob };
}

/** Replaces a file's content; returns the updated node. */
export async function updateContent(tx: Queryable, node: Node, content: NodeContent, beside?: Beside): Promise<Node> {
  const params: unknown[] = [node.userId, node.parentId, node.name, node.id, content.blobSha256, content.size, content.contentType, content.etag];
  const rows = await tx.query<NodeRow>(
    `WITH written AS (
       UPDATE nodes SET blob_sha256 = $5, size = $6, content_type = COALESCE($7, content_type), etag = $8, modified_at = now()
        WHERE user_id = $1 AND id = $4 RETURNING ${COLUMNS}
     ), ${changeCte('false')}${besideCtes(beside, params)}
     SELECT * FROM written`,
    params,
  );
  return rowToNode(rows[0]!);
}

/** The blobs referenced in a subtree (candidates for collection once it is gone). */
export async function subtreeBlobs(q: Queryable, userId: number, rootId: number): Promise<string[]> {
  const rows = await q.query<{ blob_sha256: string }>(
    `WITH RECURSIVE tree AS (
       SELECT id, blob_sha256 FROM nodes WHERE user_id = $1 AND id = $2
       UNION ALL
       SELECT c.id, c.blob_sha256 FROM tree t JOIN nodes c ON c.user_id = $1 AND c.parent_id = t.id
     )
     SELECT DISTINCT blob_sha256 FROM tree WHERE blob_sha256 IS NOT NULL`,
    [userId, rootId],
  );
  return rows.map((r) => r.blob_sha256);
}

/** Deletes a node and everything below it (the foreign keys cascade). Returns blobs to collect. */
export async function deleteNode(tx: Queryable, node: Node): Promise<string[]> {
  const blobs = await subtreeBlobs(tx, node.userId, node.id);
  await tx.query('DELETE FROM nodes WHERE user_id = $1 AND id = $2', [node.userId, node.id]);
  if (node.parentId !== null) await recordChange(tx, node.userId, node.parentId, node.name, { collection: isCollection(node) });
  return blobs;
}

/** Moves (renames) a node: one row changes, whatever the size of the subtree. */
export async function moveNode(tx: Queryable, node: Node, newParentId: number, newName: string): Promise<void> {
  await tx.query('UPDATE nodes SET parent_id = $3, name = $4 WHERE user_id = $1 AND id = $2', [node.userId, node.id, newParentId, newName]);
  if (node.parentId !== null) await recordChange(tx, node.userId, node.parentId, node.name, { collection: isCollection(node) });
  await recordChange(tx, node.userId, newParentId, newName);
}

/**
 * Copies a node (and with `deep` its subtree) under a new parent: rows and dead properties are
 * copied, file bodies are shared by hash. One statement per copied collection.
 */
export async function copyNode(tx: Queryable, source: Node, newParentId: number, newName: string, deep: boolean): Promise<Node> {
  const userId = source.userId;
  const rows = await tx.query<NodeRow>(
    `INSERT INTO nodes (user_id, parent_id, name, kind, blob_sha256, size, content_type, etag)
     SELECT user_id, $3, $4, kind, blob_sha256, size, content_type, etag FROM nodes WHERE user_id = $1 AND id = $2
     RETURNING ${COLUMNS}`,
    [userId, source.id, newParentId, newName],
  );
  const copy = rowToNode(rows[0]!);
  await recordChange(tx, userId, newParentId, newName);
  await copyProperties(tx, userId, [source.id], [copy.id]);
  if (!deep || !isCollection(source)) return copy;

  let level: Array<[number, number]> = [[source.id, copy.id]];
  while (level.length > 0) {
    const next: Array<[number, number]> = [];
    for (const [fromId, toId] of level) {
      const pairs = await tx.query<{ old_id: number; new_id: number; kind: NodeKind }>(
        `WITH src AS (SELECT * FROM nodes WHERE user_id = $1 AND parent_id = $2),
              ins AS (
                INSERT INTO nodes (user_id, parent_id, name, kind, blob_sha256, size, content_type, etag, sync_token)
                SELECT user_id, $3, name, kind, blob_sha256, size, content_type, etag, 0 FROM src
                RETURNING id, name, kind)
         SELECT src.id AS old_id, ins.id AS new_id, ins.kind FROM ins JOIN src ON src.name = ins.name`,
        [userId, fromId, toId],
      );
      if (pairs.length === 0) continue;
      await copyProperties(tx, userId, pairs.map((p) => p.old_id), pairs.map((p) => p.new_id));
      for (const p of pairs) if (isCollection(p)) next.push([p.old_id, p.new_id]);
    }
    level = next;
  }
  return copy;
}

async function copyProperties(tx: Queryable, userId: number, fromIds: number[], toIds: number[]): Promise<void> {
  await tx.query(
    `INSERT INTO properties (user_id, node_id, namespace, name, xml)
     SELECT p.user_id, m.new_id, p.namespace, p.name, p.xml
       FROM unnest($2::bigint[], $3::bigint[]) AS m(old_id, new_id)
       JOIN properties p ON p.user_id = $1 AND p.node_id = m.old_id`,
    [userId, fromIds, toIds],
  );
}

/** Total bytes a user stores, and their quota (null: none). */
export async function usage(q: Queryable, userId: number): Promise<{ used: number; quota: number | null }> {
  const rows = await q.query<{ used_bytes: number; quota_bytes: number | null }>(
    'SELECT used_bytes, quota_bytes FROM users WHERE id = $1',
    [userId],
  );
  const row = rows[0];
  return { used: row?.used_bytes ?? 0, quota: row?.quota_bytes ?? null };
}

/** How many members each of the given collections has (one query for a whole listing). */
export async function countChildren(q: Queryable, userId: number, parentIds: readonly number[]): Promise<Map<number, number>> {
  const rows = await q.query<{ parent_id: number; count: number }>(
    'SELECT parent_id, count(*) AS count FROM nodes WHERE user_id = $1 AND parent_id = ANY($2::bigint[]) GROUP BY parent_id',
    [userId, parentIds],
  );
  return new Map(rows.map((r) => [r.parent_id, r.count]));
}
