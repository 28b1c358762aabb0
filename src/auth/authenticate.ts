import { hash, randomBytes } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from '../log.js';
import { findAppPassword, touchAppPassword } from '../store/credentials.js';
import type { Database } from '../store/db.js';
import { findLogin } from '../store/users.js';
import { hashPassword, randomBase32, verifyPassword } from './passwords.js';
import { checkThrottle, recordFailure, recordSuccess } from './throttle.js';

/** Who is asking, set as `ctx.state.user` for every authenticated request. */
export interface AuthUser {
  id: number;
  name: string;
  isAdmin: boolean;
}

export interface AuthenticateDeps {
  db: Database;
  log: Logger;
  /** Shown by clients in their password prompt; "Davenport" by default. */
  realm?: string;
}

export interface BasicCredentials {
  userName: string;
  password: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const latin1 = new TextDecoder('latin1');

/**
 * Parses an `Authorization: Basic …` header (RFC 7617). Undefined when it is not Basic or is
 * malformed, so the caller answers 401 — never 500.
 */
export function parseBasicAuthorization(header: string): BasicCredentials | undefined {
  // RFC 7617 §2 / RFC 7235 §2.1: case-insensitive scheme, one or more spaces, then token68
  // (here base64 as RFC 7617 §2 specifies, padding optional because some clients drop it).
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match) return undefined;
  const bytes = Buffer.from(match[1]!, 'base64');
  let text: string;
  try {
    // RFC 7617 §2.1: we announce charset="UTF-8", so clients that honour it send UTF-8 …
    text = utf8.decode(bytes);
  } catch {
    // … while older clients send ISO-8859-1, the encoding most of them used before RFC 7617.
    text = latin1.decode(bytes);
  }
  // RFC 7617 §2: user-id and password are separated by the first ':'; a user-id cannot contain one.
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const userName = text.slice(0, colon);
  // RFC 7617 §2: no control characters in the user-id (and PostgreSQL text cannot hold NUL).
  if (/[\u0000-\u001f\u007f]/.test(userName)) return undefined;
  return { userName: foldUserName(userName), password: text.slice(colon + 1) };
}

/**
 * User names are lower case only (see validateUserName), so folding ASCII capitals is never
 * ambiguous — and phones that capitalise the first letter typed into a user-name field still work.
 */
function foldUserName(name: string): string {
  return name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// The success cache. DAV clients send Basic credentials with every request, and one scrypt
// verification costs ~50 ms of CPU; so a success is remembered for a minute, keyed by a SHA-256
// of the credentials behind a secret that never leaves this process (a dump of the map reveals no
// password). One-shot hash(): an Hmac object cost 4 µs per request, 6% of a cached GET. The key is
// never shown to anyone, so a MAC's protection against length extension has nothing to guard.
// Failures are never cached.

const CACHE_LIFETIME_MS = 60_000;
const CACHE_MAX_ENTRIES = 10_000;
const cacheSecret = randomBytes(32).toString('hex');

interface CachedLogin {
  user: AuthUser;
  appPasswordId?: number;
  expires: number;
}

const successes = new Map<string, CachedLogin>();
/** Moves on with every forgetCredentials, so a verification that began before it is not cached. */
let epoch = 0;

function cacheKey({ userName, password }: BasicCredentials): string {
  // A user name holds no NUL (parseBasicAuthorization), so the first one ends it.
  return hash('sha256', `${cacheSecret}${userName}\0${password}`, 'base64');
}

function cached(key: string): CachedLogin | undefined {
  const entry = successes.get(key);
  if (entry && entry.expires <= Date.now()) {
    successes.delete(key);
    return undefined;
  }
  return entry;
}

function remember(key: string, entry: CachedLogin): void {
  successes.delete(key);
  // Maps iterate in insertion order: the first key is the oldest entry.
  while (successes.size >= CACHE_MAX_ENTRIES) successes.delete(successes.keys().next().value!);
  successes.set(key, entry);
}

/**
 * Ends this process's cached logins of a user at once: call it after a password change, an
 * app password revocation or a user deletion. Other processes forget within CACHE_LIFETIME_MS.
 */
export function forgetCredentials(userId: number): void {
  epoch++;
  for (const [key, entry] of successes) if (entry.user.id === userId) successes.delete(key);
}

// ---------------------------------------------------------------------------------------------

type Outcome = { kind: 'ok'; user: AuthUser } | { kind: 'failed' } | { kind: 'throttled'; retryAfterSeconds: number };

/** Clients open several connections at once with the same credentials: verify them only once. */
const inFlight = new Map<string, Promise<Outcome>>();

/** A hash to verify against when the user does not exist, so the answer takes as long as for one that does. */
let dummyHash: Promise<string> | undefined;

export type LoginCheck = Outcome | { kind: 'ok'; user: AuthUser; appPasswordId?: number };

/**
 * One sign-in attempt with a user name and password, throttled and recorded (failures against
 * the limits, successes as known addresses, app-password use). `appPasswords: false` accepts the
 * main password only: the web pages never let a device password in.
 */
export async function checkLogin(
  deps: AuthenticateDeps,
  { userName, password }: BasicCredentials,
  address: string,
  options: { appPasswords: boolean },
): Promise<LoginCheck> {
  const { db, log } = deps;
  const decision = await checkThrottle(db, userName, address);
  if (!decision.allowed) {
    log.warn('login throttled', { user: userName.slice(0, 128), address, retryAfter: decision.retryAfterSeconds });
    return { kind: 'throttled', retryAfterSeconds: decision.retryAfterSeconds };
  }

  const login = await findLogin(db, userName);
  let appPasswordId: number | undefined;
  let valid = false;
  if (login) {
    if (options.appPasswords) appPasswordId = await findAppPassword(db, login.user.id, password);
    valid = appPasswordId !== undefined || (await verifyPassword(password, login.passwordHash));
  } else {
    // Same work as for a real user: the same lookup (user 0 never exists) and one scrypt.
    if (options.appPasswords) await findAppPassword(db, 0, password);
    dummyHash ??= hashPassword(randomBase32(20));
    await verifyPassword(password, await dummyHash);
  }

  if (!login || !valid) {
    await recordFailure(db, userName, address);
    // Never the password or the header: only who was tried and from where.
    log.warn('login failed', { user: userName.slice(0, 128), address });
    return { kind: 'failed' };
  }

  const { id, name, isAdmin } = login.user;
  await recordSuccess(db, id, address);
  if (appPasswordId !== undefined) await touchAppPassword(db, id, appPasswordId);
  return { kind: 'ok', user: { id, name, isAdmin }, ...(appPasswordId !== undefined && { appPasswordId }) };
}

async function verifyCredentials(deps: AuthenticateDeps, credentials: BasicCredentials, key: string, address: string): Promise<Outcome> {
  const startEpoch = epoch;
  const outcome = await checkLogin(deps, credentials, address, { appPasswords: true });
  if (outcome.kind !== 'ok') return outcome;
  const { user } = outcome;
  const appPasswordId = 'appPasswordId' in outcome ? outcome.appPasswordId : undefined;
  if (epoch === startEpoch) {
    remember(key, { user, ...(appPasswordId !== undefined && { appPasswordId }), expires: Date.now() + CACHE_LIFETIME_MS });
  }
  return { kind: 'ok', user };
}

async function login(deps: AuthenticateDeps, credentials: BasicCredentials, address: string): Promise<Outcome> {
  const key = cacheKey(credentials);
  const hit = cached(key);
  if (hit) return { kind: 'ok', user: hit.user };
  const flightKey = `${key} ${address}`;
  let pending = inFlight.get(flightKey);
  if (!pending) {
    pending = verifyCredentials(deps, credentials, key, address).finally(() => inFlight.delete(flightKey));
    inFlight.set(flightKey, pending);
  }
  return pending;
}

/** A realm as a quoted-string (RFC 9110 §5.6.4). */
function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Koa middleware for every /dav/ request: HTTP Basic with the main password or an app
 * password, throttled per user, address and pair; sets `ctx.state.user` and calls next.
 */
export function authenticate(deps: AuthenticateDeps): Koa.Middleware {
  const challenge = `Basic realm=${quoted(deps.realm ?? 'Davenport')}, charset="UTF-8"`;

  const unauthorized = (ctx: Koa.Context): void => {
    ctx.status = 401;
    ctx.set('WWW-Authenticate', challenge);
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = 'Authentication required.\n';
  };

  return async (ctx, next) => {
    const header = ctx.get('Authorization');
    // No credentials yet is how every client starts: not a failure.
    if (!header) return unauthorized(ctx);
    const address = ctx.ip || 'unknown';
    const credentials = parseBasicAuthorization(header);
    if (!credentials) {
      deps.log.debug('unusable Authorization header', { address });
      return unauthorized(ctx);
    }

    const outcome = await login(deps, credentials, address);
    switch (outcome.kind) {
      case 'ok':
        ctx.state.user = outcome.user;
        return next();
      case 'throttled':
        ctx.status = 429;
        ctx.set('Retry-After', String(outcome.retryAfterSeconds));
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = `Too many failed logins; try again in ${outcome.retryAfterSeconds} seconds.\n`;
        return;
      case 'failed':
        return unauthorized(ctx);
    }
  };
}
