import type Koa from 'koa';
import { checkLogin } from '../../auth/authenticate.js';
import type { ServerDeps } from '../../dav/context.js';
import { DavError } from '../../dav/errors.js';
import { createSession, deleteSession, pruneSessions } from '../../store/sessions.js';
import { readJson, sendJson, stringField, type Route } from '../http.js';
import { currentSession, setSessionCookie } from '../session.js';

/** GET: who is signed in, with the token every change must carry; 401 when nobody is. */
export async function whoAmI(koa: Koa.Context, deps: ServerDeps): Promise<void> {
  const session = await currentSession(koa, deps);
  if (!session) throw new DavError(401, { message: 'not signed in' });
  sendJson(koa, { user: { name: session.userName, isAdmin: session.isAdmin }, csrfToken: session.csrfToken });
}

/**
 * POST: signs in with the main password only (an app password is a device's, never a
 * browser's), under the same throttling as the DAV side.
 */
export async function signIn(koa: Koa.Context, deps: ServerDeps, prefix: string): Promise<void> {
  const body = await readJson(koa);
  // The same folding as Basic: user names are lower case, phones capitalise the first letter.
  const userName = stringField(body, 'name').trim().replace(/[A-Z]+/g, (s) => s.toLowerCase());
  const password = stringField(body, 'password');
  if (userName === '' || userName.length > 128 || password === '') throw new DavError(400, { message: 'enter your user name and password' });
  const outcome = await checkLogin({ db: deps.db, log: deps.log }, { userName, password }, koa.ip || 'unknown', { appPasswords: false });
  if (outcome.kind === 'throttled') {
    throw new DavError(429, {
      message: `too many failed sign-ins; try again in ${outcome.retryAfterSeconds} seconds`,
      headers: { 'Retry-After': String(outcome.retryAfterSeconds) },
    });
  }
  if (outcome.kind === 'failed') throw new DavError(401, { message: 'wrong user name or password' });
  // Now and then rather than on a timer: no process needs one.
  if (Math.random() < 0.05) await pruneSessions(deps.db);
  const { id, session } = await createSession(deps.db, outcome.user);
  setSessionCookie(koa, deps, prefix, id);
  sendJson(koa, { user: { name: session.userName, isAdmin: session.isAdmin }, csrfToken: session.csrfToken });
}

export const sessionRoutes: Route[] = [
  {
    method: 'DELETE',
    pattern: /^session$/,
    async handler({ koa, deps, prefix, session }) {
      await deleteSession(deps.db, session.idHash);
      setSessionCookie(koa, deps, prefix, undefined);
      koa.status = 204;
    },
  },
];
