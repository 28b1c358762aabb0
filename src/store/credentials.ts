import { createHash } from 'node:crypto';
import { randomBase32 } from '../auth/passwords.js';
import type { Queryable } from './db.js';
import { UserInputError } from './users.js';

export class InvalidAppPasswordNameError extends UserInputError {}

/** An app password as listed: the secret itself is never stored, so never shown again. */
export interface AppPassword {
  id: number;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface NewAppPassword {
  id: number;
  name: string;
  /** Shown once to the user, e.g. `k3v7q-m2xpa-7hd4w-rt6ne`. */
  secret: string;
}

const GROUPS = 4;
const GROUP_LENGTH = 5;
/** 4 × 5 base32 characters: 100 random bits, out of reach of guessing even without throttling. */
const CANONICAL_SECRET = new RegExp(`^[a-z2-7]{${GROUPS * GROUP_LENGTH}}$`);

/**
 * The form that is hashed: lower case, without the dashes or spaces people add or drop when
 * typing the secret on a phone. Undefined when the text cannot be an app password at all.
 */
function canonicalSecret(text: string): string | undefined {
  const canonical = text.toLowerCase().replace(/[-\s]/g, '');
  return CANONICAL_SECRET.test(canonical) ? canonical : undefined;
}

// A random 100-bit secret needs no slow, salted hash: SHA-256 cannot be reversed, and it lets
// one indexed lookup find the row.
function tokenHash(canonical: string): Buffer {
  return createHash('sha256').update(canonical).digest();
}

export async function createAppPassword(q: Queryable, userId: number, name: string): Promise<NewAppPassword> {
  const label = name.trim();
  // Shown in listings, one per line: no control characters.
  if (label === '' || label.length > 100 || /[\u0000-\u001f\u007f]/.test(label)) {
    throw new InvalidAppPasswordNameError('an app password needs a name of 1 to 100 characters, without control characters');
  }
  const raw = randomBase32(GROUPS * GROUP_LENGTH);
  const rows = await q.query<{ id: number }>(
    'INSERT INTO app_passwords (user_id, name, token_hash) VALUES ($1, $2, $3) RETURNING id',
    [userId, label, tokenHash(raw)],
  );
  const secret = raw.match(new RegExp(`.{${GROUP_LENGTH}}`, 'g'))!.join('-');
  return { id: rows[0]!.id, name: label, secret };
}

export async function listAppPasswords(q: Queryable, userId: number): Promise<AppPassword[]> {
  const rows = await q.query<{ id: number; name: string; created_at: Date; last_used_at: Date | null }>(
    'SELECT id, name, created_at, last_used_at FROM app_passwords WHERE user_id = $1 ORDER BY id',
    [userId],
  );
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
}

/**
 * Returns whether the app password existed. Callers in a serving process also call
 * forgetCredentials(userId) so a cached login with it ends at once.
 */
export async function revokeAppPassword(q: Queryable, userId: number, id: number): Promise<boolean> {
  const rows = await q.query<{ id: number }>('DELETE FROM app_passwords WHERE user_id = $1 AND id = $2 RETURNING id', [userId, id]);
  return rows.length > 0;
}

/** The id of the user's app password with this secret, if any. */
export async function findAppPassword(q: Queryable, userId: number, secret: string): Promise<number | undefined> {
  const canonical = canonicalSecret(secret);
  if (canonical === undefined) return undefined;
  const rows = await q.query<{ id: number }>('SELECT id FROM app_passwords WHERE user_id = $1 AND token_hash = $2', [
    userId,
    tokenHash(canonical),
  ]);
  return rows[0]?.id;
}

/** Records a use; writes at most once a minute per app password, not once per request. */
export async function touchAppPassword(q: Queryable, userId: number, id: number): Promise<void> {
  await q.query(
    `UPDATE app_passwords SET last_used_at = now()
      WHERE user_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [userId, id],
  );
}
