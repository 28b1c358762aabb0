import type { Queryable } from './db.js';
import { nodeColumns, rowToNode, type Node, type NodeRow } from './nodes.js';

/** One member of a collection as a sync (RFC 6578) reports it. */
export interface MemberChange {
  name: string;
  /** The member as it is now; undefined when the name is no longer mapped. */
  node: Node | undefined;
  /** Token of the member's latest logged change, 0 when it never was logged (copied rows). */
  rank: number;
  /** Whether the member was a collection when it was removed (node undefined). */
  removedCollection: boolean;
}

export interface ChangeQuery {
  /** Report names changed after this token; undefined lists the current members (initial sync). */
  since: number | undefined;
  /** With since = 0: also the never-logged members whose id is above this one (a truncated answer's cursor). */
  afterId?: number;
  /** The collection's token when the request began: later changes are left for the next sync. */
  upTo: number;
  /** At most this many rows (undefined: all). */
  limit?: number;
}

/**
 * The members of a collection changed since a token — or all current members — in the order
 * their latest changes were logged, in one statement: the change log is reduced to the latest
 * change per name and joined with the members as they are now (so a name that was deleted and
 * re-created is reported as changed, one created and deleted as removed: RFC 6578 §3.5).
 * Ordering by the latest change makes every prefix of the answer a consistent state to resume
 * from: all names whose latest change is at or below the last rank have been reported.
 */
export async function memberChanges(q: Queryable, userId: number, collectionId: number, query: ChangeQuery): Promise<MemberChange[]> {
  if (query.since !== undefined && query.since > 0) return changedMembers(q, userId, collectionId, query.since, query.upTo, query.limit);
  if (query.since === undefined) return currentMembers(q, userId, collectionId, query.upTo, query.limit);
  const rows = await q.query<NodeRow & { member_name: string; rank: number; removed_collection: boolean; id: number | null }>(
    `WITH latest AS (
       SELECT name, max(token) AS token, ${REMOVED_COLLECTION} FROM changes
        WHERE user_id = $1 AND collection_id = $2 AND token > $3
        GROUP BY name
     ), members AS (
       SELECT user_id, id, parent_id, name, kind, blob_sha256, size, content_type, etag, sync_token, created_at, modified_at
         FROM nodes WHERE user_id = $1 AND parent_id = $2
     )
     SELECT coalesce(l.name, m.name) AS member_name, coalesce(l.token, 0) AS rank, coalesce(l.collection, false) AS removed_collection,
            ${nodeColumns('m')}
       FROM latest l FULL JOIN members m ON m.name = l.name
      WHERE coalesce(l.token, 0) <= $4
        AND CASE WHEN $5::boolean THEN m.id IS NOT NULL
                 ELSE l.token IS NOT NULL OR m.id > $6::bigint END
      ORDER BY rank, m.id
      LIMIT $7`,
    [userId, collectionId, query.since ?? 0, query.upTo, query.since === undefined, query.afterId ?? null, query.limit ?? null],
  );
  return rows.map(toMemberChange);
}

/**
 * Whether the name's latest entry removed a collection. Each write drops its name's older entries
 * (store/nodes.ts: supersededCte), so a name has one entry and the aggregate reads that one.
 */
const REMOVED_COLLECTION = 'bool_or(collection) AS collection';

function toMemberChange(row: NodeRow & { member_name: string; rank: number; removed_collection: boolean; id: number | null }): MemberChange {
  const node = row.id === null ? undefined : rowToNode(row);
  return { name: row.member_name, node, rank: row.rank, removedCollection: node === undefined && row.removed_collection };
}

/**
 * An initial sync: every current member with the token of its latest change, in the same order
 * as memberChanges. Two plain scans merged here rather than a join: any join of members to their
 * latest changes leaves the planner a way to compare every name with every other when its
 * statistics are stale or skewed (seen: 7 s for 10 000 events on PostgreSQL after a bulk load).
 */
async function currentMembers(q: Queryable, userId: number, collectionId: number, upTo: number, limit: number | undefined): Promise<MemberChange[]> {
  // Members first: one created or changed after this read has a change above upTo, so it is left
  // for the next sync rather than reported in a state this answer does not hold.
  const members = await q.query<NodeRow>(`SELECT ${nodeColumns('m')} FROM nodes m WHERE m.user_id = $1 AND m.parent_id = $2`, [userId, collectionId]);
  const latest = await q.query<{ name: string; token: number }>(
    'SELECT name, max(token) AS token FROM changes WHERE user_id = $1 AND collection_id = $2 GROUP BY name',
    [userId, collectionId],
  );
  const rankOf = new Map(latest.map((row) => [row.name, row.token]));
  const ranked = members
    .map((row) => ({ name: row.name, node: rowToNode(row), rank: rankOf.get(row.name) ?? 0, removedCollection: false }))
    // A member changed after the request began is left for the next sync.
    .filter((m) => m.rank <= upTo)
    .sort((a, b) => a.rank - b.rank || a.node.id - b.node.id);
  return limit === undefined ? ranked : ranked.slice(0, limit);
}

/**
 * An incremental sync: only the names logged since the token, each looked up by name (no scan
 * of the collection's members). A name whose latest change came after `upTo` is left for the
 * next sync, as in memberChanges.
 */
async function changedMembers(q: Queryable, userId: number, collectionId: number, since: number, upTo: number, limit: number | undefined): Promise<MemberChange[]> {
  const rows = await q.query<NodeRow & { member_name: string; rank: number; removed_collection: boolean; id: number | null }>(
    `WITH latest AS (
       SELECT name, max(token) AS token, ${REMOVED_COLLECTION} FROM changes
        WHERE user_id = $1 AND collection_id = $2 AND token > $3
        GROUP BY name HAVING max(token) <= $4
     )
     SELECT l.name AS member_name, l.token AS rank, l.collection AS removed_collection,
            ${nodeColumns('m')}
       FROM latest l LEFT JOIN nodes m ON m.user_id = $1 AND m.parent_id = $2 AND m.name = l.name
      ORDER BY rank, m.id
      LIMIT $5`,
    [userId, collectionId, since, upTo, limit ?? null],
  );
  return rows.map(toMemberChange);
}
