import type { Queryable } from '../../store/db.js';
import { findChildren, isCollection, resolvePath, type Node, type NodeKind } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { textSources } from '../object-text.js';
import { multistatus, propstatResponse, statusResponse } from '../multistatus.js';
import { lockPath, parseTarget, spaceHref } from '../paths.js';
import { parsePropfind, propstats, type PropfindRequest } from '../methods/propfind.js';
import { PropertyScope, type PropertyTarget } from '../properties/registry.js';
import { children, is, namespaceOf, textContent, type Element } from '../xml/parse.js';
import { DAV } from '../xml/names.js';
import { el, escapeXml } from '../xml/write.js';

/**
 * What a multiget or query report asks for: ordinary properties, answered as PROPFIND does,
 * and the object's data element (CALDAV:calendar-data, CARDDAV:address-data), which only
 * reports answer (RFC 4791 §9.6, RFC 6352 §10.4).
 */
export interface ReportRequest<D> {
  props: PropfindRequest;
  data?: D;
}

export function splitReportRequest<D>(body: Element, dataNs: string, dataLocal: string, parseData: (el: Element) => D): ReportRequest<D> {
  const part = children(body).find((c) => namespaceOf(c) === DAV && ['prop', 'allprop', 'propname'].includes(c.localName ?? ''));
  let propfind: Element | undefined;
  if (part) {
    propfind = body.ownerDocument!.createElementNS(DAV, 'propfind');
    propfind.appendChild(part.cloneNode(true));
  }
  const props = parsePropfind(propfind);
  if (props.kind !== 'prop') return { props };
  const data = props.names.find((n) => is(n, dataNs, dataLocal));
  return { props: { kind: 'prop', names: props.names.filter((n) => n !== data) }, ...(data ? { data: parseData(data) } : {}) };
}

/** A stored object a report answers with: where it is, and its text. */
export interface ObjectMatch {
  node: Node;
  segments: string[];
  data: string;
}

/**
 * One 207 for a report's objects: their properties, their rendered data when asked for,
 * 404 for hrefs that name nothing, and any extra responses (e.g. the 507 of a limit).
 */
export async function respondWithObjects(
  req: DavRequest,
  q: Queryable,
  matches: readonly ObjectMatch[],
  request: ReportRequest<unknown>,
  dataElement: { ns: string; local: string; render: (text: string) => string },
  missing: readonly string[] = [],
  extra = '',
): Promise<void> {
  const targets: PropertyTarget[] = matches.map((m) => ({
    href: spaceHref(req.prefix, req.space, req.user.name, m.segments, false),
    isCollection: false,
    name: m.segments.at(-1)!,
    node: m.node,
    lockPath: lockPath(req.space, m.segments),
  }));
  const scope = new PropertyScope(q, req.user.id, req, targets);
  const responses: string[] = [];
  for (const [i, target] of targets.entries()) {
    const asked = propstats(target, request.props, scope);
    const groups = asked instanceof Promise ? await asked : asked;
    if (request.data !== undefined) {
      groups.set(200, [...(groups.get(200) ?? []), el(dataElement.ns, dataElement.local, escapeXml(dataElement.render(matches[i]!.data)))]);
    }
    responses.push(propstatResponse(target.href, groups));
  }
  for (const href of missing) responses.push(statusResponse(href, 404));
  req.koa.status = 207;
  req.koa.type = 'application/xml; charset=utf-8';
  req.koa.body = multistatus(responses, extra);
}

/** The names below the user's home that an href of this user's space points to, if it does. */
export function hrefSegments(req: DavRequest, href: string): string[] | undefined {
  try {
    const target = parseTarget(new URL(href, 'http://host').pathname, req.prefix);
    return target?.type === 'space' && target.space === req.space && target.owner === req.user.name ? target.segments : undefined;
  } catch {
    return undefined;
  }
}

/** Most hrefs one multiget may name. */
export const MAX_MULTIGET_HREFS = 5_000;

/**
 * The objects a multiget names (RFC 4791 §7.9, RFC 6352 §8.7), with their texts: members of the
 * requested collection in one query by name, other hrefs one by one; hrefs naming no object of
 * `objectKind` are returned as missing (answered 404).
 */
export async function multigetObjects(req: DavRequest, body: Element, objectKind: NodeKind): Promise<{ found: ObjectMatch[]; missing: string[] }> {
  const hrefs = children(body).filter((c) => is(c, DAV, 'href')).map((h) => textContent(h).trim());
  if (hrefs.length === 0) throw new DavError(400, { message: 'a multiget must name at least one href' });
  if (hrefs.length > MAX_MULTIGET_HREFS) throw new DavError(413, { message: `at most ${MAX_MULTIGET_HREFS} hrefs per multiget` });
  const { db } = req.deps;
  const collection = req.node && isCollection(req.node) ? req.node : undefined;
  const named = hrefs.map((href) => ({ href, segments: hrefSegments(req, href) }));
  const isMember = (segments: string[] | undefined): segments is string[] =>
    collection !== undefined && segments !== undefined && segments.length === req.segments.length + 1 && segments.slice(0, -1).every((s, i) => s === req.segments[i]);
  const members = collection ? await findChildren(db, req.user.id, collection.id, named.flatMap(({ segments }) => (isMember(segments) ? [segments.at(-1)!] : []))) : new Map<string, Node>();
  const found: ObjectMatch[] = [];
  const missing: string[] = [];
  for (const { href, segments } of named) {
    const node = isMember(segments) ? members.get(segments.at(-1)!) : segments ? (await resolvePath(db, req.user.id, [req.space, ...segments])).node : undefined;
    if (node?.kind === objectKind && segments) found.push({ node, segments, data: '' });
    else missing.push(href);
  }
  const texts = await textSources.get(objectKind)!(db, req.user.id, found.map((m) => m.node.id));
  for (const m of found) m.data = texts.get(m.node.id) ?? '';
  return { found, missing };
}
