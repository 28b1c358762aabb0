/**
 * REPORT DAV:expand-property (RFC 3253 §3.8): properties of the request's resource, where a
 * property asked for with DAV:property children has each DAV:href of its value replaced by a
 * DAV:response for that resource, holding the properties those children name, and so on down.
 * iOS asks a principal this way for what it may act on; InfCloud sends it unasked and stops at
 * an error status. Resources of the signed-in user are described; any other href (another
 * user's principal, a mailto: address) becomes a response with 404.
 */
import type Koa from 'koa';
import type { AuthUser } from '../../auth/authenticate.js';
import { resolvePath } from '../../store/nodes.js';
import type { ServerDeps } from '../context.js';
import { DavError } from '../errors.js';
import { propertyXml, storedTarget } from '../methods/propfind.js';
import { addToGroups, multistatus, propstatResponse, statusResponse, type PropstatGroups } from '../multistatus.js';
import { parseTarget } from '../paths.js';
import { principalTarget } from '../principals.js';
import { properties, PropertyScope, type PropertyTarget } from '../properties/registry.js';
import { DAV } from '../xml/names.js';
import { children, is, type Element } from '../xml/parse.js';
import { el, unescapeXml } from '../xml/write.js';
import { reports } from './registry.js';

/** One DAV:property of the request: a property, and the properties of the resources its hrefs name. */
interface Expansion {
  ns: string;
  local: string;
  expand: Expansion[];
}

/** Levels of DAV:property below the report that are expanded; deeper ones are returned as they are. */
const MAX_LEVELS = 3;
/** Resources described in one answer at the most (each costs a path lookup). */
const MAX_EXPANDED = 200;

export function parseExpansions(parent: Element): Expansion[] {
  return children(parent)
    .filter((c) => is(c, DAV, 'property'))
    .map((c) => {
      const local = c.getAttribute('name');
      if (!local) throw new DavError(400, { message: 'DAV:property needs a name attribute' });
      // §3.8: the namespace attribute defaults to "DAV:".
      const ns = c.hasAttribute('namespace') ? c.getAttribute('namespace')! : DAV;
      return { ns, local, expand: parseExpansions(c) };
    });
}

/** What an answer needs to describe the resources an href names. */
interface ExpandContext {
  deps: ServerDeps;
  user: AuthUser;
  prefix: string;
  expanded: number;
}

/** The signed-in user's own resource at a server-absolute href, if it exists. */
async function targetOf(href: string, ctx: ExpandContext): Promise<PropertyTarget | undefined> {
  if (!href.startsWith('/')) return undefined;
  let target;
  try {
    target = parseTarget(new URL(href, 'http://host').pathname, ctx.prefix);
  } catch {
    return undefined;
  }
  if (target?.type === 'principal') return target.owner === ctx.user.name ? principalTarget(ctx.prefix, ctx.user.name) : undefined;
  if (target?.type !== 'space' || target.owner !== ctx.user.name) return undefined;
  const { node } = await resolvePath(ctx.deps.db, ctx.user.id, [target.space, ...target.segments]);
  return node && storedTarget(ctx.prefix, target.space, ctx.user.name, target.segments, node);
}

/** A DAV:response for `target` with the properties `wanted` asks for, expanded to `level`. */
async function describe(target: PropertyTarget, wanted: readonly Expansion[], ctx: ExpandContext, level: number): Promise<string> {
  const scope = new PropertyScope(ctx.deps.db, ctx.user.id, ctx, [target]);
  const dead = await scope.deadProperties(target);
  const groups: PropstatGroups = new Map();
  for (const { ns, local, expand } of wanted) {
    let xml = await propertyXml(target, ns, local, properties.get(ns, local), dead, scope);
    if (xml === undefined) {
      addToGroups(groups, 404, el(ns, local));
      continue;
    }
    if (expand.length > 0 && level < MAX_LEVELS) xml = await expandHrefs(xml, expand, ctx, level + 1);
    addToGroups(groups, 200, xml);
  }
  if (groups.size === 0) groups.set(200, []);
  return propstatResponse(target.href, groups);
}

/** The property's DAV:href elements, each replaced by the response for the resource it names. */
async function expandHrefs(xml: string, wanted: readonly Expansion[], ctx: ExpandContext, level: number): Promise<string> {
  const hrefs = [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)];
  let out = '';
  let from = 0;
  for (const match of hrefs) {
    const href = unescapeXml(match[1]!);
    if (++ctx.expanded > MAX_EXPANDED) throw new DavError(507, { message: `more than ${MAX_EXPANDED} resources to expand` });
    const target = await targetOf(href, ctx);
    out += xml.slice(from, match.index) + (target ? await describe(target, wanted, ctx, level) : statusResponse(href, 404));
    from = match.index! + match[0].length;
  }
  return out + xml.slice(from);
}

/** Answers the report for the request's resource, `target`. */
export async function answerExpandProperty(koa: Koa.Context, deps: ServerDeps, user: AuthUser, prefix: string, target: PropertyTarget, body: Element): Promise<void> {
  const wanted = parseExpansions(body);
  const response = await describe(target, wanted, { deps, user, prefix, expanded: 0 }, 0);
  koa.status = 207;
  koa.type = 'application/xml; charset=utf-8';
  koa.body = multistatus([response]);
}

reports.register({
  ns: DAV,
  local: 'expand-property',
  appliesTo: () => true,
  run: (req, body) => answerExpandProperty(req.koa, req.deps, req.user, req.prefix, storedTarget(req.prefix, req.space, req.user.name, req.segments, req.node!), body),
});
