/**
 * Finding principals (RFC 3744 §9.4 DAV:principal-property-search, §9.5
 * DAV:principal-search-property-set). macOS Calendar searches this way for attendees and
 * delegates, Evolution and KDE's KDAV for a principal by name or address, usually on the
 * principal collection or with DAV:apply-to-principal-collection-set. A user sees no principal
 * but their own (another's is 404 everywhere), so the principals searched are that one.
 */
import type Koa from 'koa';
import type { AuthUser } from '../../auth/authenticate.js';
import { textMatches } from '../collation.js';
import type { ServerDeps } from '../context.js';
import { DavError } from '../errors.js';
import { parseDepth, propertyXml, propstats } from '../methods/propfind.js';
import { multistatus, propstatResponse } from '../multistatus.js';
import { principalTarget } from '../principals.js';
import { properties, PropertyScope, type PropertyTarget } from '../properties/registry.js';
import { CALDAV, DAV } from '../xml/names.js';
import { child, children, is, namespaceOf, textContent, type Element } from '../xml/parse.js';
import { davDocument, davEl, el, escapeXml, unescapeXml } from '../xml/write.js';
import { reports } from './registry.js';

/** The properties a search may name (§9.5), with what they hold. */
const SEARCHABLE = [
  { ns: DAV, local: 'displayname', description: "The user's name" },
  { ns: CALDAV, local: 'calendar-user-address-set', description: "The user's calendar addresses: e-mail and principal URL" },
] as const;

const isSearchable = (ns: string, local: string) => SEARCHABLE.some((p) => p.ns === ns && p.local === local);

/** Where a search is asked: the principal collection, a principal, or a stored resource. */
export type SearchScope = 'principal-collection' | 'principal' | 'resource';

interface PropertySearch {
  /** Properties that must all match (§9.4: elements within one DAV:prop are ANDed). */
  props: Array<{ ns: string; local: string }>;
  match: string;
}

interface Search {
  searches: PropertySearch[];
  /** CalendarServer's test attribute: whether every DAV:property-search must match, or one. */
  test: 'allof' | 'anyof';
  /** Properties to return for each principal found. */
  wanted: Element[];
  applyToPrincipalCollectionSet: boolean;
}

function parseSearch(body: Element): Search {
  const searches = children(body)
    .filter((c) => is(c, DAV, 'property-search'))
    .map((search): PropertySearch => {
      const prop = child(search, DAV, 'prop');
      const match = child(search, DAV, 'match');
      if (!prop || children(prop).length === 0 || !match) throw new DavError(400, { message: 'DAV:property-search needs a DAV:prop naming a property and a DAV:match' });
      return { props: children(prop).map((p) => ({ ns: namespaceOf(p), local: p.localName ?? '' })), match: textContent(match) };
    });
  if (searches.length === 0) throw new DavError(400, { message: 'DAV:principal-property-search needs at least one DAV:property-search' });
  const test = body.getAttribute('test') || 'allof';
  if (test !== 'allof' && test !== 'anyof') throw new DavError(400, { message: `unknown test "${test}"` });
  const prop = child(body, DAV, 'prop');
  return { searches, test, wanted: prop ? children(prop) : [], applyToPrincipalCollectionSet: Boolean(child(body, DAV, 'apply-to-principal-collection-set')) };
}

/** The character data of a property value as this server writes it, one string per text node. */
function textsOf(xml: string): string[] {
  return xml
    .split(/<[^>]*>/)
    .filter((text) => text !== '')
    .map(unescapeXml);
}

/**
 * Whether the principal's property contains the searched text. §9.4 leaves the method to the
 * server and recommends a caseless substring match: i;unicode-casemap, as CalDAV's text-match.
 * A property this server does not search (§9.5 lists those it does) matches nothing.
 */
async function propertyMatches(target: PropertyTarget, ns: string, local: string, match: string, scope: PropertyScope): Promise<boolean> {
  if (!isSearchable(ns, local)) return false;
  const xml = await propertyXml(target, ns, local, properties.get(ns, local), [], scope);
  return xml !== undefined && textsOf(xml).some((text) => textMatches(text, match, 'i;unicode-casemap'));
}

async function principalMatches(target: PropertyTarget, search: Search, scope: PropertyScope): Promise<boolean> {
  const results: boolean[] = [];
  for (const { props, match } of search.searches) {
    let all = true;
    for (const { ns, local } of props) all &&= await propertyMatches(target, ns, local, match, scope);
    results.push(all);
  }
  return search.test === 'anyof' ? results.some(Boolean) : results.every(Boolean);
}

/** §9.4 and §9.5 are defined for Depth 0 only; REPORT's Depth defaults to 0 (RFC 3253 §3.6). */
function requireDepthZero(koa: Koa.Context): void {
  parseDepth(koa.get('Depth') || undefined, 0, [0]);
}

/** Answers DAV:principal-property-search: a response with the asked properties for each principal found. */
export async function answerPrincipalPropertySearch(koa: Koa.Context, deps: ServerDeps, user: AuthUser, prefix: string, where: SearchScope, body: Element): Promise<void> {
  requireDepthZero(koa);
  const search = parseSearch(body);
  // By default the members, at any depth, of the request's resource: only the principal
  // collection has principals below it. Applied to the principal collection set, the one collection there.
  const candidates = where === 'principal-collection' || search.applyToPrincipalCollectionSet ? [principalTarget(prefix, user.name)] : [];
  const scope = new PropertyScope(deps.db, user.id, { deps, user, prefix }, candidates);
  const responses: string[] = [];
  for (const target of candidates) {
    if (!(await principalMatches(target, search, scope))) continue;
    const groups = search.wanted.length === 0 ? new Map([[200, []]]) : await propstats(target, { kind: 'prop', names: search.wanted }, scope);
    responses.push(propstatResponse(target.href, groups));
  }
  koa.status = 207;
  koa.type = 'application/xml; charset=utf-8';
  koa.body = multistatus(responses);
}

/** Answers DAV:principal-search-property-set: the properties a search may name, each described. */
export function answerPrincipalSearchPropertySet(koa: Koa.Context): void {
  requireDepthZero(koa);
  const described = SEARCHABLE.map((p) => davEl('principal-search-property', davEl('prop', el(p.ns, p.local)) + `<D:description xml:lang="en">${escapeXml(p.description)}</D:description>`));
  koa.status = 200;
  koa.type = 'application/xml; charset=utf-8';
  koa.body = davDocument('principal-search-property-set', described.join(''));
}

/**
 * Answers DAV:principal-property-search or DAV:principal-search-property-set; false for any
 * other body (the caller tells which reports it answers).
 */
export async function answerPrincipalSearch(koa: Koa.Context, deps: ServerDeps, user: AuthUser, prefix: string, where: SearchScope, body: Element): Promise<boolean> {
  if (is(body, DAV, 'principal-property-search')) {
    await answerPrincipalPropertySearch(koa, deps, user, prefix, where, body);
    return true;
  }
  if (is(body, DAV, 'principal-search-property-set')) {
    answerPrincipalSearchPropertySet(koa);
    return true;
  }
  return false;
}

// On stored resources the search finds principals only through DAV:apply-to-principal-collection-set.
reports.register({
  ns: DAV,
  local: 'principal-property-search',
  appliesTo: () => true,
  run: (req, body) => answerPrincipalPropertySearch(req.koa, req.deps, req.user, req.prefix, 'resource', body),
});
