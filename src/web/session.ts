import { timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { ServerDeps } from '../dav/context.js';
import { DavError } from '../dav/errors.js';
import { findSession, SESSION_MAX_SECONDS, type WebSession } from '../store/sessions.js';

export const SESSION_COOKIE = 'davenport_session';

/** Whether the browser reached us over HTTPS (directly, or through the proxy of an https BASE_URL). */
export function isHttps(koa: Koa.Context, deps: ServerDeps): boolean {
  return koa.protocol === 'https' || deps.config.baseUrl?.protocol === 'https:';
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page
 * sends it), Secure over HTTPS, scoped to the server's path prefix. `id` undefined clears it.
 */
export function setSessionCookie(koa: Koa.Context, deps: ServerDeps, prefix: string, id: string | undefined): void {
  const parts = [
    `${SESSION_COOKIE}=${id ?? ''}`,
    `Path=${prefix}`,
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${id ? SESSION_MAX_SECONDS : 0}`,
  ];
  if (isHttps(koa, deps)) parts.push('Secure');
  koa.append('Set-Cookie', parts.join('; '));
}

/** The cookie's value as the browser sent it (read by hand: one name, no signing needed). */
export function sessionCookie(koa: Koa.Context): string | undefined {
  for (const pair of (koa.get('Cookie') || '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === SESSION_COOKIE) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

export async function currentSession(koa: Koa.Context, deps: ServerDeps): Promise<WebSession | undefined> {
  const id = sessionCookie(koa);
  return id ? findSession(deps.db, id) : undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

/**
 * Refuses a change that another site may have caused: browsers mark such requests with
 * Sec-Fetch-Site and Origin. Applies to every unsafe request, signed in or not.
 */
export function checkSameOrigin(koa: Koa.Context, deps: ServerDeps): void {
  const site = koa.get('Sec-Fetch-Site');
  if (site && site !== 'same-origin' && site !== 'none') throw new DavError(403, { message: 'cross-site request refused' });
  const origin = koa.get('Origin');
  if (!origin) return;
  // Built by hand: Koa 3's ctx.origin may echo the request's own Origin header.
  const ours = new Set([`${koa.protocol}://${koa.host}`, deps.config.baseUrl?.origin].filter(Boolean));
  if (!ours.has(origin)) throw new DavError(403, { message: 'cross-origin request refused' });
}

/**
 * The synchronizer token (OWASP CSRF cheat sheet): every change carries the session's token in
 * X-CSRF-Token, or (a form that downloads a file) in a `csrf` field.
 */
export function checkCsrf(koa: Koa.Context, session: WebSession, formToken?: string): void {
  const sent = koa.get('X-CSRF-Token') || formToken || '';
  const expected = Buffer.from(session.csrfToken);
  const given = Buffer.from(sent);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new DavError(403, { message: 'missing or wrong CSRF token; reload the page' });
  }
}
