import type { Queryable } from '../../store/db.js';
import type { Node } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { multistatus, propstatResponse, statusResponse } from '../multistatus.js';
import { lockPath, parseTarget, spaceHref } from '../paths.js';
import { parsePropfind, propstats, type PropfindRequest } from '../methods/propfind.js';
import { PropertyScope, type PropertyTarget } from '../properties/registry.js';
import { children, is, namespaceOf, type Element } from '../xml/parse.js';
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
    const groups = await propstats(target, request.props, scope);
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
