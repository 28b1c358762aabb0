import type Koa from 'koa';
import type { AuthUser } from '../auth/authenticate.js';
import { getUser } from '../store/users.js';
import type { ServerDeps } from './context.js';
import { DavError } from './errors.js';
import { readXmlBody } from './body.js';
import { answerOptions } from './methods/options.js';
import { parseDepth, parsePropfind, respondPropfind } from './methods/propfind.js';
import { principalHref, spaceHref } from './paths.js';
import { properties, PropertyScope, type PropertyDefinition, type PropertyTarget } from './properties/registry.js';
import { answerExpandProperty } from './reports/expand-property.js';
import { answerPrincipalSearch } from './reports/principal-search.js';
import { CALDAV, CARDDAV, DAV } from './xml/names.js';
import { is } from './xml/parse.js';
import { davEl, escapeXml } from './xml/write.js';

/** A principal is read-only here: it is described, never changed through DAV. */
export const PRINCIPAL_METHODS = ['OPTIONS', 'PROPFIND', 'REPORT'];

/** The reports a principal answers (RFC 3253 §3.8, RFC 3744 §9.4 and §9.5), all in DAV:. */
export const PRINCIPAL_REPORTS = ['expand-property', 'principal-property-search', 'principal-search-property-set'] as const;
/** The reports the principal collection (/dav/principals/) answers (virtual.ts). */
export const PRINCIPAL_COLLECTION_REPORTS = ['principal-property-search', 'principal-search-property-set'] as const;

/** A user's principal (/dav/principals/<user>/) as the property layer sees it. */
export function principalTarget(prefix: string, userName: string): PropertyTarget {
  return { href: principalHref(prefix, userName), isCollection: true, name: userName, principal: userName };
}

const href = (value: string) => davEl('href', escapeXml(value));

/** The user's e-mail address, read once per response. */
function emailOf(scope: PropertyScope): Promise<string | null> {
  return scope.once('principal-email', async () => (await getUser(scope.q, scope.userId))?.email ?? null);
}

// Discovery properties of a principal; none is in allprop (RFC 4791 §6.2.1, RFC 6352 §7.1.1, RFC 6638 §2.4.1).
const discoveryProperties: PropertyDefinition[] = [
  {
    // RFC 4791 §6.2.1: the collection that holds the user's calendars.
    ns: CALDAV,
    local: 'calendar-home-set',
    inAllprop: false,
    get: (t, scope) => (t.principal !== undefined ? href(spaceHref(scope.req.prefix, 'calendars', t.principal, [], true)) : undefined),
  },
  {
    // RFC 6352 §7.1.1: the collection that holds the user's address books.
    ns: CARDDAV,
    local: 'addressbook-home-set',
    inAllprop: false,
    get: (t, scope) => (t.principal !== undefined ? href(spaceHref(scope.req.prefix, 'addressbooks', t.principal, [], true)) : undefined),
  },
  {
    // RFC 6638 §2.4.1: the addresses that identify the user as an attendee; DAVx5 takes the
    // mailto: one as the account name and organizer address.
    ns: CALDAV,
    local: 'calendar-user-address-set',
    inAllprop: false,
    async get(t, scope) {
      if (t.principal === undefined) return undefined;
      const email = await emailOf(scope);
      return (email ? href(`mailto:${email}`) : '') + href(principalHref(scope.req.prefix, t.principal));
    },
  },
];

properties.register(...discoveryProperties);

/**
 * OPTIONS and PROPFIND on the signed-in user's principal (the dispatcher has already answered
 * 404 for anyone else's). A principal has no members, so Depth 1 and infinity list it alone.
 * iOS needs OPTIONS answered here with DAV and Allow, or its account setup stalls.
 */
export async function answerPrincipal(koa: Koa.Context, deps: ServerDeps, user: AuthUser, prefix: string): Promise<void> {
  if (koa.method === 'OPTIONS') {
    answerOptions(koa, PRINCIPAL_METHODS);
    return;
  }
  if (!PRINCIPAL_METHODS.includes(koa.method)) {
    koa.set('Allow', PRINCIPAL_METHODS.join(', '));
    throw new DavError(405);
  }
  const target = principalTarget(prefix, user.name);
  if (koa.method === 'REPORT') {
    const body = await readXmlBody(koa, deps.config.maxXmlBytes);
    if (body && is(body, DAV, 'expand-property')) return answerExpandProperty(koa, deps, user, prefix, target, body);
    if (body && (await answerPrincipalSearch(koa, deps, user, prefix, 'principal', body))) return;
    throw new DavError(403, { condition: 'supported-report', message: `a principal answers ${PRINCIPAL_REPORTS.map((r) => `DAV:${r}`).join(', ')}` });
  }
  const request = parsePropfind(await readXmlBody(koa, deps.config.maxXmlBytes));
  parseDepth(koa.get('Depth') || undefined, 'infinity');
  const scope = new PropertyScope(deps.db, user.id, { deps, user, prefix }, [target]);
  await respondPropfind(koa, scope, request);
}
