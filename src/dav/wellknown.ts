import type Koa from 'koa';
import type { AuthUser } from '../auth/authenticate.js';
import type { ServerDeps } from './context.js';
import { readXmlBody } from './body.js';
import { answerOptions } from './methods/options.js';
import { parseDepth, parsePropfind, respondPropfind } from './methods/propfind.js';
import { PropertyScope } from './properties/registry.js';
import { parseXml } from './xml/parse.js';

/** RFC 6764 §5 service names, registered under /.well-known/ (RFC 8615). */
const SERVICES = ['caldav', 'carddav'];

export const WELL_KNOWN_METHODS = ['OPTIONS', 'PROPFIND', 'GET', 'HEAD'];

/**
 * Whether a request path is a well-known DAV URL: at the origin's root as RFC 8615 places it,
 * or under BASE_URL's path for a proxy that forwards only that.
 */
export function isWellKnown(path: string, prefix: string): boolean {
  const bare = path.endsWith('/') ? path.slice(0, -1) : path;
  return SERVICES.some((s) => bare === `/.well-known/${s}` || bare === `${prefix}.well-known/${s}`);
}

/**
 * /.well-known/caldav and /.well-known/carddav: RFC 6764 §5 has them redirect to the context
 * path, /dav/ here, where current-user-principal leads on. macOS was seen not following that
 * redirect for PROPFIND, so PROPFIND is answered on the URL itself — authenticated, like the
 * virtual collections, with the signed-in user's principal — and so is OPTIONS (before
 * credentials, as for the virtual collections). Every other method gets the 301.
 */
export function wellKnown(deps: ServerDeps, prefix: string, auth: Koa.Middleware): Koa.Middleware {
  const contextPath = deps.config.baseUrl ? new URL('dav/', deps.config.baseUrl).href : `${prefix}dav/`;
  return async (koa, next) => {
    if (!isWellKnown(koa.path, prefix)) return next();
    if (koa.method === 'OPTIONS') {
      answerOptions(koa, WELL_KNOWN_METHODS);
      return;
    }
    if (koa.method === 'PROPFIND') {
      await auth(koa, () => answerPropfind(koa, deps, koa.state.user as AuthUser, prefix));
      return;
    }
    koa.status = 301;
    koa.set('Location', contextPath);
  };
}

/** Added to an allprop here although RFC 5397 §3 keeps it out of allprop: leading on is this URL's only use. */
const CURRENT_USER_PRINCIPAL = parseXml('<current-user-principal xmlns="DAV:"/>');

/** A 207 for the well-known URL alone: a collection without members, with the registry's properties. */
async function answerPropfind(koa: Koa.Context, deps: ServerDeps, user: AuthUser, prefix: string): Promise<void> {
  let request = parsePropfind(await readXmlBody(koa, deps.config.maxXmlBytes));
  if (request.kind === 'allprop') request = { kind: 'allprop', include: [...request.include, CURRENT_USER_PRINCIPAL] };
  parseDepth(koa.get('Depth') || undefined, 'infinity');
  const self = { href: koa.path, isCollection: true, name: '' };
  await respondPropfind(koa, new PropertyScope(deps.db, user.id, { deps, user, prefix }, [self]), request);
}
