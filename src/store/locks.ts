import type { Queryable } from './db.js';

/** A WebDAV write lock (RFC 4918 §6), rooted at a lock path ('files/a/b'). */
export interface Lock {
  /** The state token, e.g. 'urn:uuid:…'. */
  token: string;
  root: string;
  rootIsCollection: boolean;
  depthInfinity: boolean;
  exclusive: boolean;
  /** The client's DAV:owner element, serialised; kept verbatim (RFC 4918 §14.17). */
  ownerXml: string | null;
  timeoutSeconds: number;
  /** Seconds left when the row was read, by the database's clock. */
  remainingSeconds: number;
}

/** What a LOCK creates: everything but the time left, which the database's clock tells. */
export type NewLock = Omit<Lock, 'remainingSeconds'>;

interface LockRow {
  token: string;
  root: string;
  root_collection: boolean;
  depth_infinity: boolean;
  exclusive: boolean;
  owner_xml: string | null;
  timeout_seconds: number;
  remaining: number;
}

const COLUMNS = `token, root, root_collection, depth_infinity, exclusive, owner_xml, timeout_seconds,
  GREATEST(0, ceil(extract(epoch FROM expires_at - now())))::integer AS remaining`;

function toLock(row: LockRow): Lock {
  return {
    token: row.token,
    root: row.root,
    rootIsCollection: row.root_collection,
    depthInfinity: row.depth_infinity,
    exclusive: row.exclusive,
    ownerXml: row.owner_xml,
    timeoutSeconds: row.timeout_seconds,
    remainingSeconds: row.remaining,
  };
}

/** Whether `path` is strictly below `root` ('files/a/b' is below 'files/a'). */
export function isBelow(path: string, root: string): boolean {
  return path.length > root.length + 1 && path.startsWith(root) && path[root.length] === '/';
}

/** Whether a lock covers the resource at `path`: its root, or below a depth-infinity root (RFC 4918 §6.1). */
export function covers(lock: Lock, path: string): boolean {
  return lock.root === path || (lock.depthInfinity && isBelow(path, lock.root));
}

/** A user's unexpired locks, in one query; expired rows are ignored here and purged by createLock. */
export async function listActiveLocks(q: Queryable, userId: number): Promise<Lock[]> {
  const rows = await q.query<LockRow>(
    `SELECT ${COLUMNS} FROM locks WHERE user_id = $1 AND expires_at > now() ORDER BY root, token`,
    [userId],
  );
  return rows.map(toLock);
}

/**
 * Serialises lock creation for one user until the transaction ends, so the conflict check and
 * the insert of two concurrent LOCK requests cannot interleave.
 */
export async function holdLockTable(tx: Queryable, userId: number): Promise<void> {
  // Two-key form: the first key namespaces these locks apart from the migration lock.
  await tx.query('SELECT pg_advisory_xact_lock(4242002, ($1::bigint % 2147483647)::integer)', [userId]);
}

/** Stores a new lock (and drops the user's expired ones on the way). */
export async function createLock(tx: Queryable, userId: number, lock: NewLock): Promise<Lock> {
  const rows = await tx.query<LockRow>(
    `WITH expired AS (DELETE FROM locks WHERE user_id = $1 AND expires_at <= now())
     INSERT INTO locks (user_id, token, root, root_collection, depth_infinity, exclusive, owner_xml, timeout_seconds, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + $8::integer * interval '1 second')
     RETURNING ${COLUMNS}`,
    [userId, lock.token, lock.root, lock.rootIsCollection, lock.depthInfinity, lock.exclusive, lock.ownerXml, lock.timeoutSeconds],
  );
  return toLock(rows[0]!);
}

/** Gives an active lock a new timeout from now; undefined when there is no such active lock. */
export async function refreshLock(tx: Queryable, userId: number, token: string, timeoutSeconds: number): Promise<Lock | undefined> {
  const rows = await tx.query<LockRow>(
    `UPDATE locks SET timeout_seconds = $3, expires_at = now() + $3::integer * interval '1 second'
      WHERE user_id = $1 AND token = $2 AND expires_at > now()
      RETURNING ${COLUMNS}`,
    [userId, token, timeoutSeconds],
  );
  return rows[0] && toLock(rows[0]);
}

/** Removes one lock; false when it did not exist. */
export async function deleteLock(tx: Queryable, userId: number, token: string): Promise<boolean> {
  const rows = await tx.query<{ token: string }>('DELETE FROM locks WHERE user_id = $1 AND token = $2 RETURNING token', [userId, token]);
  return rows.length > 0;
}

/**
 * Removes the locks rooted at `path` or below it. "Below" is the range [path + '/', path + '0')
 * of the "C"-collated column ('0' follows '/' in byte order), so names need no LIKE escaping.
 */
export async function deleteLocksUnder(tx: Queryable, userId: number, path: string): Promise<void> {
  await tx.query(
    `DELETE FROM locks
      WHERE user_id = $1
        AND (root = $2 COLLATE "C" OR (root >= $3 COLLATE "C" AND root < $4 COLLATE "C"))`,
    [userId, path, path + '/', path + '0'],
  );
}
