import { hashPassword, MIN_PASSWORD_LENGTH } from '../auth/passwords.js';
import { provisionUser } from './provision.js';
import type { BlobStore } from './blobs.js';
import type { Database, Queryable } from './db.js';

/** The tree roots every user gets; CalDAV and CardDAV add 'calendars' and 'addressbooks' here. */
export { SPACE_ROOTS, type SpaceRoot } from './provision.js';

export interface User {
  id: number;
  name: string;
  email: string | null;
  isAdmin: boolean;
  quotaBytes: number | null;
  usedBytes: number;
  createdAt: Date;
}

/** Input a caller can correct (bad name, short password, taken name): its message is meant for people. */
export class UserInputError extends Error {}
export class InvalidUserNameError extends UserInputError {}
export class InvalidPasswordError extends UserInputError {}
export class InvalidEmailError extends UserInputError {}
export class InvalidQuotaError extends UserInputError {}
export class UserExistsError extends UserInputError {}

// Names appear in URLs (/dav/files/<name>/) and in throttle keys: keep them to characters that
// never need escaping, and refuse a leading '.' so '.', '..' and hidden-looking names cannot exist.
const USER_NAME = /^[a-z0-9_-][a-z0-9._-]{0,63}$/;

export function validateUserName(name: string): void {
  if (!USER_NAME.test(name)) {
    throw new InvalidUserNameError(
      `invalid user name "${name.length > 80 ? name.slice(0, 80) + '…' : name}": use 1 to 64 characters a-z, 0-9, '.', '_' or '-', not starting with '.'`,
    );
  }
}

export function validatePassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new InvalidPasswordError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}

function validateEmail(email: string): void {
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new InvalidEmailError(`invalid email address "${email}"`);
}

interface UserRow {
  id: number;
  name: string;
  email: string | null;
  is_admin: boolean;
  quota_bytes: number | null;
  used_bytes: number;
  created_at: Date;
}

const COLUMNS = 'id, name, email, is_admin, quota_bytes, used_bytes, created_at';

function toUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    isAdmin: row.is_admin,
    quotaBytes: row.quota_bytes,
    usedBytes: row.used_bytes,
    createdAt: row.created_at,
  };
}

export interface NewUser {
  name: string;
  password: string;
  email?: string | null;
  isAdmin?: boolean;
}

/** Creates a user and their space roots in one transaction. */
export async function createUser(db: Database, fields: NewUser): Promise<User> {
  validateUserName(fields.name);
  validatePassword(fields.password);
  const email = fields.email ?? null;
  if (email !== null) validateEmail(email);
  // Hash before the transaction: no connection is held during the ~50 ms of scrypt.
  const passwordHash = await hashPassword(fields.password);
  try {
    return await db.transaction(async (tx) => {
      const rows = await tx.query<UserRow>(
        `INSERT INTO users (name, email, password_hash, is_admin) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
        [fields.name, email, passwordHash, fields.isAdmin ?? false],
      );
      const user = toUser(rows[0]!);
      await provisionUser(tx, user.id);
      return user;
    });
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new UserExistsError(`a user named "${fields.name}" already exists`);
    throw error;
  }
}

export async function findUserByName(q: Queryable, name: string): Promise<User | undefined> {
  const rows = await q.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE name = $1`, [name]);
  return rows[0] && toUser(rows[0]);
}

/** The user and their password hash, for signing in only: the hash never travels with a plain User. */
export async function findLogin(q: Queryable, name: string): Promise<{ user: User; passwordHash: string } | undefined> {
  const rows = await q.query<UserRow & { password_hash: string }>(`SELECT ${COLUMNS}, password_hash FROM users WHERE name = $1`, [name]);
  const row = rows[0];
  return row && { user: toUser(row), passwordHash: row.password_hash };
}

export async function getUser(q: Queryable, id: number): Promise<User | undefined> {
  const rows = await q.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] && toUser(rows[0]);
}

export async function listUsers(q: Queryable): Promise<User[]> {
  const rows = await q.query<UserRow>(`SELECT ${COLUMNS} FROM users ORDER BY name`);
  return rows.map(toUser);
}

export async function countUsers(q: Queryable): Promise<number> {
  const rows = await q.query<{ count: number }>('SELECT count(*) AS count FROM users');
  return rows[0]?.count ?? 0;
}

/**
 * Deletes a user and everything they own (the foreign keys cascade), then their blob files.
 * Returns false when there was no such user. Callers in a serving process also call
 * forgetCredentials(id) so cached logins end at once.
 */
export async function deleteUser(db: Database, blobs: BlobStore, id: number): Promise<boolean> {
  const rows = await db.query<{ id: number }>('DELETE FROM users WHERE id = $1 RETURNING id', [id]);
  if (rows.length === 0) return false;
  // After the commit: a crash in between leaves orphaned files, never rows pointing at missing files.
  await blobs.removeUser(id);
  return true;
}

/** Returns false when there is no such user. Callers in a serving process also call forgetCredentials(id). */
export async function setPassword(q: Queryable, id: number, password: string): Promise<boolean> {
  validatePassword(password);
  const passwordHash = await hashPassword(password);
  const rows = await q.query<{ id: number }>('UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING id', [id, passwordHash]);
  return rows.length > 0;
}

/** Sets or (with null) clears the address. Returns false when there is no such user. */
export async function setEmail(q: Queryable, id: number, email: string | null): Promise<boolean> {
  if (email !== null) validateEmail(email);
  const rows = await q.query<{ id: number }>('UPDATE users SET email = $2 WHERE id = $1 RETURNING id', [id, email]);
  return rows.length > 0;
}

/** Sets the quota in bytes, or removes it with null. Returns false when there is no such user. */
export async function setQuota(q: Queryable, id: number, bytes: number | null): Promise<boolean> {
  if (bytes !== null && !(Number.isSafeInteger(bytes) && bytes >= 0)) {
    throw new InvalidQuotaError(`a quota must be a whole number of bytes, 0 or more, got ${bytes}`);
  }
  const rows = await q.query<{ id: number }>('UPDATE users SET quota_bytes = $2 WHERE id = $1 RETURNING id', [id, bytes]);
  return rows.length > 0;
}
