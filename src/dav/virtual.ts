import type Koa from 'koa';
import type { AuthUser } from '../auth/authenticate.js';
import type { ServerDeps } from './context.js';
import { DavError } from './errors.js';
import { readXmlBody } from './body.js';
import { answerOptions } from './methods/options.js';
import { parseDepth, parsePropfind, respondPropfind } from './methods/propfind.js';
import { SPACES, spaceHref } from './paths.js';
import { PRINCIPAL_COLLECTION_REPORTS, principalTarget } from './principals.js';
import { answerPrincipalSearch } from './reports/principal-search.js';
import { PropertyScope, type PropertyTarget } from './properties/registry.js';

export const VIRTUAL_METHODS = ['OPTIONS', 'PROPFIND'];
/** The principal collection (/dav/principals/) also answers the principal searches (RFC 3744 §9.4, §9.5). */
const PRINCIPAL_COLLECTION_METHODS = [...VIRTUAL_METHODS, 'REPORT'];

const isPrincipalCollection = (segments: readonly string[]) => segments.length === 2 && segments[1] === 'principals';

/** The methods a virtual collection answers. */
export function virtualMethods(segments: readonly string[]): string[] {
  return isPrincipalCollection(segments) ? PRINCIPAL_COLLECTION_METHODS : VIRTUAL_METHODS;
}

/**
 * The read-only collections above the homes (/, /dav/, /dav/files/): clients (Windows, iOS)
 * probe every parent with OPTIONS and PROPFIND, and each leads to the signed-in user's home only.
 * The principal collection also answers the principal searches (reports/principal-search.ts).
 */
export async function answerVirtual(koa: Koa.Context, deps: ServerDeps, user: AuthUser, target: { segments: string[] }, prefix: string): Promise<void> {
  const methods = virtualMethods(target.segments);
  if (koa.method === 'OPTIONS') {
    answerOptions(koa, methods);
    return;
  }
  if (!methods.includes(koa.method)) {
    koa.set('Allow', methods.join(', '));
    throw new DavError(405);
  }
  if (koa.method === 'REPORT') {
    const body = await readXmlBody(koa, deps.config.maxXmlBytes);
    if (body && (await answerPrincipalSearch(koa, deps, user, prefix, 'principal-collection', body))) return;
    throw new DavError(403, { condition: 'supported-report', message: `the principal collection answers ${PRINCIPAL_COLLECTION_REPORTS.map((r) => `DAV:${r}`).join(', ')}` });
  }
  const request = parsePropfind(await readXmlBody(koa, deps.config.maxXmlBytes));
  const depth = parseDepth(koa.get('Depth') || undefined, 'infinity');
  const self: PropertyTarget = {
    href: prefix + target.segments.map((s) => s + '/').join(''),
    isCollection: true,
    name: target.segments.at(-1) ?? '',
    ...(isPrincipalCollection(target.segments) && { principalCollection: true }),
  };
  const members = depth === 0 ? [] : childrenOf(target.segments, user, prefix);
  if (members === undefined) throw new DavError(404);
  const scope = new PropertyScope(deps.db, user.id, { deps, user, prefix }, [self, ...members]);
  await respondPropfind(koa, scope, request);
}

function childrenOf(segments: string[], user: AuthUser, prefix: string): PropertyTarget[] | undefined {
  if (segments.length === 0) return [{ href: `${prefix}dav/`, isCollection: true, name: 'dav' }];
  if (segments.length === 1) {
    return [...SPACES, 'principals'].map((space) => ({ href: `${prefix}dav/${space}/`, isCollection: true, name: space }));
  }
  if (segments[1] === 'principals') return [principalTarget(prefix, user.name)];
  const space = SPACES.find((s) => s === segments[1]);
  if (!space) return undefined;
  return [{ href: spaceHref(prefix, space, user.name, [], true), isCollection: true, name: user.name }];
}
