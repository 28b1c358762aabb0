/**
 * The web pages at `/` and their JSON API under `/api/`: one HTML shell, a bundled script and
 * style sheet (src/web/client, built by npm run build:web), and the API the script calls,
 * authenticated by a session cookie rather than Basic.
 */
import type Koa from 'koa';
import type { AuthUser } from '../auth/authenticate.js';
import type { ServerDeps } from '../dav/context.js';
import { DavError } from '../dav/errors.js';
import { accountRoutes } from './api/account.js';
import { adminRoutes } from './api/admin.js';
import { collectionRoutes } from './api/collections.js';
import { deviceRoutes } from './api/devices.js';
import { fileRoutes } from './api/files.js';
import { sessionRoutes, signIn, whoAmI } from './api/session.js';
import { serveAsset, serveShell } from './assets.js';
import { jsonErrors, type Route } from './http.js';
import { checkCsrf, checkSameOrigin, currentSession, isHttps, isSafeMethod } from './session.js';

const ROUTES: Route[] = [...sessionRoutes, ...accountRoutes, ...deviceRoutes, ...collectionRoutes, ...fileRoutes, ...adminRoutes];

/**
 * Scripts and styles from this origin only, no framing, no sniffing (OWASP secure headers);
 * HSTS only where the browser came over HTTPS.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(koa: Koa.Context, deps: ServerDeps): void {
  koa.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  koa.set('X-Content-Type-Options', 'nosniff');
  koa.set('X-Frame-Options', 'DENY');
  koa.set('Referrer-Policy', 'same-origin');
  koa.set('Cross-Origin-Opener-Policy', 'same-origin');
  if (isHttps(koa, deps) && !koa.response.get('Strict-Transport-Security')) koa.set('Strict-Transport-Security', 'max-age=31536000');
}

/** The last middleware: everything under the prefix that is not DAV or a well-known address. */
export function webPages(deps: ServerDeps, prefix: string): Koa.Middleware {
  const errors = jsonErrors(deps);
  return async (koa) => {
    if (koa.path + '/' === prefix) {
      koa.redirect(prefix);
      return;
    }
    if (!koa.path.startsWith(prefix)) throw new DavError(404);
    const rest = koa.path.slice(prefix.length);
    securityHeaders(koa, deps);
    if (rest.startsWith('api/')) return errors(koa, () => api(koa, deps, prefix, rest.slice('api/'.length)));
    if (koa.method !== 'GET' && koa.method !== 'HEAD') {
      koa.set('Allow', 'GET, HEAD');
      throw new DavError(405);
    }
    if (rest === '') return serveShell(koa);
    if (rest.startsWith('assets/')) return serveAsset(koa, rest.slice('assets/'.length));
    throw new DavError(404);
  };
}

async function api(koa: Koa.Context, deps: ServerDeps, prefix: string, path: string): Promise<void> {
  koa.set('Cache-Control', 'no-store');
  if (!isSafeMethod(koa.method)) checkSameOrigin(koa, deps);
  // Before a session exists: who is signed in, and signing in.
  if (path === 'session' && koa.method === 'GET') return whoAmI(koa, deps);
  if (path === 'session' && koa.method === 'POST') return signIn(koa, deps, prefix);

  const matching = ROUTES.filter((r) => r.pattern.test(path));
  if (matching.length === 0) throw new DavError(404, { message: 'no such API' });
  const route = matching.find((r) => r.method === koa.method || (koa.method === 'HEAD' && r.method === 'GET'));
  if (!route) {
    koa.set('Allow', [...new Set(matching.map((r) => r.method))].join(', '));
    throw new DavError(405);
  }
  const session = await currentSession(koa, deps);
  if (!session) throw new DavError(401, { message: 'not signed in' });
  if (!isSafeMethod(koa.method) && !route.csrfInForm) checkCsrf(koa, session);
  if (route.admin && !session.isAdmin) throw new DavError(403, { message: 'administrators only' });
  const user: AuthUser = { id: session.userId, name: session.userName, isAdmin: session.isAdmin };
  koa.state.user = user;
  const params = route.pattern.exec(path)!.slice(1);
  await route.handler({ koa, deps, prefix, session, user, params });
}
