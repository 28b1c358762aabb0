import type { Queryable } from '../store/db.js';

/**
 * Failed-login limits, counted in the database (table login_failures) so that every server
 * process sharing it sees the same counts and a restart forgets nothing.
 */
export const THROTTLE = {
  windowSeconds: 60,
  /** Failures per (user name, address) in the window. */
  perPair: 10,
  /** Failures per address, whatever the user names tried. */
  perAddress: 30,
  /** Failures per user name from anywhere — not applied to the user's known addresses. */
  perUser: 10,
  /** An address stays known this long after a successful login from it. */
  knownAddressDays: 30,
  /** Failures older than this are deleted. */
  keepSeconds: 3600,
  /** recordFailure prunes old rows once in this many calls, on average. */
  pruneEvery: 100,
} as const;

export interface ThrottleDecision {
  allowed: boolean;
  /** Seconds until the attempt would be allowed (0 when allowed). */
  retryAfterSeconds: number;
}

interface FailureKeys {
  user: string;
  address: string;
  pair: string;
}

function failureKeys(userName: string, address: string): FailureKeys {
  // Attempted names are arbitrary text: bound them so a huge header cannot make huge keys.
  // Addresses never contain '@', so the pair key is unambiguous.
  const name = userName.slice(0, 128);
  return { user: `user:${name}`, address: `addr:${address}`, pair: `pair:${name}@${address}` };
}

/**
 * Whether a login attempt for `userName` from `address` may proceed. A key is blocked once it
 * holds its limit of failures in the window, until enough of them have left the window.
 * The per-user limit is skipped for the user's known addresses, so failures caused by someone
 * elsewhere never lock the owner out of their own devices.
 */
export async function checkThrottle(db: Queryable, userName: string, address: string): Promise<ThrottleDecision> {
  const keys = failureKeys(userName, address);
  const rows = await db.query<{ retry_after: number | null }>(
    `WITH limits (key, max_failures, exempt) AS (
       VALUES ($1::text, $4::int, false),
              ($2::text, $5::int, false),
              ($3::text, $6::int, EXISTS (
                SELECT 1 FROM known_addresses k JOIN users u ON u.id = k.user_id
                 WHERE u.name = $7 AND k.address = $8 AND k.last_success_at > now() - make_interval(days => $9::int)))
     ), recent AS (
       SELECT f.key, f.at, row_number() OVER (PARTITION BY f.key ORDER BY f.at DESC) AS newest_first
         FROM login_failures f
        WHERE f.key IN ($1, $2, $3) AND f.at > now() - make_interval(secs => $10::int)
     )
     -- The limit-th newest failure of a blocked key: once it leaves the window the key is below its limit.
     SELECT ceil(extract(epoch FROM max(r.at) + make_interval(secs => $10::int) - now()))::int AS retry_after
       FROM limits l JOIN recent r ON r.key = l.key AND r.newest_first = l.max_failures
      WHERE NOT l.exempt`,
    [
      keys.pair,
      keys.address,
      keys.user,
      THROTTLE.perPair,
      THROTTLE.perAddress,
      THROTTLE.perUser,
      userName,
      address,
      THROTTLE.knownAddressDays,
      THROTTLE.windowSeconds,
    ],
  );
  // No row of a blocked key: the aggregate is NULL.
  const retryAfter = rows[0]?.retry_after ?? null;
  return retryAfter === null ? { allowed: true, retryAfterSeconds: 0 } : { allowed: false, retryAfterSeconds: Math.max(1, retryAfter) };
}

/** Counts one failed login against the user name, the address and the pair. */
export async function recordFailure(db: Queryable, userName: string, address: string): Promise<void> {
  const keys = failureKeys(userName, address);
  await db.query('INSERT INTO login_failures (key) SELECT unnest($1::text[])', [[keys.user, keys.address, keys.pair]]);
  // Occasional rather than scheduled: no process needs a timer, and the table stays small.
  if (Math.random() * THROTTLE.pruneEvery < 1) await pruneThrottle(db);
}

/**
 * Remembers that the user signed in from `address`, which exempts it from the per-user limit.
 * Writes at most once a minute per (user, address).
 */
export async function recordSuccess(db: Queryable, userId: number, address: string): Promise<void> {
  await db.query(
    `INSERT INTO known_addresses (user_id, address) VALUES ($1, $2)
     ON CONFLICT (user_id, address) DO UPDATE SET last_success_at = now()
      WHERE known_addresses.last_success_at < now() - interval '1 minute'`,
    [userId, address],
  );
}

/** Deletes failures past any window and addresses no longer known. */
export async function pruneThrottle(db: Queryable): Promise<void> {
  await db.query('DELETE FROM login_failures WHERE at < now() - make_interval(secs => $1::int)', [THROTTLE.keepSeconds]);
  await db.query('DELETE FROM known_addresses WHERE last_success_at < now() - make_interval(days => $1::int)', [
    THROTTLE.knownAddressDays,
  ]);
}
