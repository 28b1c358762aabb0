import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './db.js';

/** A signed-in browser, as the web layer sees it. */
export interface WebSession {
  userId: number;
  userName: string;
  isAdmin: boolean;
  csrfToken: string;
  /** The hash that keys the row (to end this session, or all others). */
  idHash: Buffer;
  expiresAt: Date;
}

/** A session stays valid this long after its last use. */
export const SESSION_IDLE_SECONDS = 14 * 86_400;
/** …and never longer than this after sign-in. */
export const SESSION_MAX_SECONDS = 90 * 86_400;
/** Sliding the expiry is written at most this often per session, not on every request. */
const TOUCH_EVERY_SECONDS = 3600;

// 256 random bits: SHA-256 suffices (nothing to brute-force), and lets one indexed lookup find the row.
function hashId(id: string): Buffer {
  return createHash('sha256').update(id).digest();
}

/** Starts a session; returns the id for the cookie (never stored) and the session. */
export async function createSession(q: Queryable, user: { id: number; name: string; isAdmin: boolean }): Promise<{ id: string; session: WebSession }> {
  const id = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const idHash = hashId(id);
  const rows = await q.query<{ expires_at: Date }>(
    `INSERT INTO web_sessions (user_id, id_hash, csrf_token, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4::int))
     RETURNING expires_at`,
    [user.id, idHash, csrfToken, SESSION_IDLE_SECONDS],
  );
  return { id, session: { userId: user.id, userName: user.name, isAdmin: user.isAdmin, csrfToken, idHash, expiresAt: rows[0]!.expires_at } };
}

/** The live session with this cookie value, its expiry slid forward (at most once an hour); undefined when unknown or expired. */
export async function findSession(q: Queryable, id: string): Promise<WebSession | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
  const idHash = hashId(id);
  const rows = await q.query<{ user_id: number; name: string; is_admin: boolean; csrf_token: string; expires_at: Date; stale: boolean }>(
    `SELECT s.user_id, u.name, u.is_admin, s.csrf_token, s.expires_at,
            s.last_seen_at < now() - make_interval(secs => $2::int) AS stale
       FROM web_sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id_hash = $1 AND s.expires_at > now()`,
    [idHash, TOUCH_EVERY_SECONDS],
  );
  const row = rows[0];
  if (!row) return undefined;
  let expiresAt = row.expires_at;
  if (row.stale) {
    const updated = await q.query<{ expires_at: Date }>(
      `UPDATE web_sessions SET last_seen_at = now(),
              expires_at = least(now() + make_interval(secs => $2::int), created_at + make_interval(secs => $3::int))
        WHERE id_hash = $1 RETURNING expires_at`,
      [idHash, SESSION_IDLE_SECONDS, SESSION_MAX_SECONDS],
    );
    expiresAt = updated[0]?.expires_at ?? expiresAt;
  }
  return { userId: row.user_id, userName: row.name, isAdmin: row.is_admin, csrfToken: row.csrf_token, idHash, expiresAt };
}

export async function deleteSession(q: Queryable, idHash: Buffer): Promise<void> {
  await q.query('DELETE FROM web_sessions WHERE id_hash = $1', [idHash]);
}

/** Ends every session of a user except `keep` (after a password change: other browsers sign in again). */
export async function deleteUserSessions(q: Queryable, userId: number, keep?: Buffer): Promise<void> {
  await q.query('DELETE FROM web_sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2', [userId, keep ?? null]);
}

/** Deletes expired sessions (called now and then on sign-in, so no timer is needed). */
export async function pruneSessions(q: Queryable): Promise<void> {
  await q.query('DELETE FROM web_sessions WHERE expires_at <= now()');
}
