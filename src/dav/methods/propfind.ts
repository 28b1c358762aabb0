import type Koa from 'koa';
import type { Queryable } from '../../store/db.js';
import { isCollection, listChildren, listSubtree, type Node } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { readXmlBody } from '../body.js';
import { addToGroups, multistatus, propstatResponse, type PropstatGroups } from '../multistatus.js';
import { encodeSegment, lockPath, spaceHref, type Space } from '../paths.js';
import { properties, PropertyScope, type PropertyDefinition, type PropertyTarget } from '../properties/registry.js';
import { children, expectRoot, is, namespaceOf, type Element } from '../xml/parse.js';
import { DAV } from '../xml/names.js';
import { el } from '../xml/write.js';
import { checkPreconditions } from '../locks/guard.js';
import type { DeadProperty } from '../../store/properties.js';

/** Largest number of resources a Depth: infinity PROPFIND may return (RFC 4918 §9.1 allows refusing). */
export const MAX_INFINITY_RESOURCES = 10_000;

/** What a PROPFIND body asks for (RFC 4918 §9.1). */
export type PropfindRequest =
  | { kind: 'allprop'; include: Element[] }
  | { kind: 'propname' }
  | { kind: 'prop'; names: Element[] };

export function parsePropfind(root: Element | undefined): PropfindRequest {
  if (!root) return { kind: 'allprop', include: [] };
  expectRoot(root, 'propfind');
  const parts = children(root);
  const prop = parts.find((c) => is(c, DAV, 'prop'));
  if (prop) return { kind: 'prop', names: children(prop) };
  if (parts.some((c) => is(c, DAV, 'propname'))) return { kind: 'propname' };
  if (parts.some((c) => is(c, DAV, 'allprop'))) {
    const include = parts.find((c) => is(c, DAV, 'include'));
    return { kind: 'allprop', include: include ? children(include) : [] };
  }
  throw new DavError(400, { message: 'propfind must contain prop, propname or allprop' });
}

export type Depth = 0 | 1 | 'infinity';

/** The Depth header; `fallback` when absent (infinity for PROPFIND, RFC 4918 §9.1). */
export function parseDepth(header: string | undefined, fallback: Depth, allowed: readonly Depth[] = [0, 1, 'infinity']): Depth {
  if (header === undefined) return fallback;
  const value = header.trim().toLowerCase();
  const depth: Depth | undefined = value === '0' ? 0 : value === '1' ? 1 : value === 'infinity' ? 'infinity' : undefined;
  if (depth === undefined || !allowed.includes(depth)) throw new DavError(400, { message: `invalid Depth header "${header}"` });
  return depth;
}

/**
 * Whether dead properties can be part of the answer: not when only protected live properties
 * are asked for (a sync client's getetag), which spares a lookup over every member.
 */
function needsDeadProperties(request: PropfindRequest): boolean {
  if (request.kind !== 'prop') return true;
  return request.names.some((n) => {
    const def = properties.get(namespaceOf(n), n.localName ?? '');
    return !def || def.writable === true;
  });
}

/** A DAV:prop request worked out once for all its targets (a listing asks the same of thousands). */
interface PropPlan {
  dead: boolean;
  /** The names asked for, each once, with their definitions. */
  names: Array<{ ns: string; local: string; def: PropertyDefinition | undefined }>;
}

const propPlans = new WeakMap<PropfindRequest, PropPlan>();

function propPlan(request: Extract<PropfindRequest, { kind: 'prop' }>): PropPlan {
  let plan = propPlans.get(request);
  if (plan) return plan;
  const seen = new Set<string>();
  const names: PropPlan['names'] = [];
  for (const n of request.names) {
    const ns = namespaceOf(n);
    const local = n.localName ?? '';
    const key = `${ns} ${local}`;
    if (seen.has(key)) continue;
    seen.add(key);
    names.push({ ns, local, def: properties.get(ns, local) });
  }
  plan = { dead: needsDeadProperties(request), names };
  propPlans.set(request, plan);
  return plan;
}

/**
 * One property of a target as an element, or undefined when the target has none: a dead value
 * set by the client wins over a computed one (displayname). `dead` holds the target's dead
 * properties (empty when the request needs none). A promise only when the value must be looked up.
 */
export function propertyXml(
  target: PropertyTarget,
  ns: string,
  local: string,
  def: PropertyDefinition | undefined,
  dead: readonly DeadProperty[],
  scope: PropertyScope,
): Promise<string | undefined> | string | undefined {
  const stored = dead.length === 0 ? undefined : dead.find((p) => p.namespace === ns && p.name === local);
  if (stored) return stored.xml;
  const got = def?.get(target, scope);
  if (got instanceof Promise) return got.then((value) => (value === undefined ? undefined : el(ns, local, value)));
  return got === undefined ? undefined : el(ns, local, got);
}

const NO_DEAD_PROPERTIES: readonly DeadProperty[] = [];

/**
 * Properties of one target, grouped by status. Synchronous while every value is at hand, as in
 * a sync client's listing of getetag over thousands of members: a promise and an await per
 * member and per property made a third of such a PROPFIND's garbage.
 */
export function propstats(target: PropertyTarget, request: PropfindRequest, scope: PropertyScope): PropstatGroups | Promise<PropstatGroups> {
  if (request.kind !== 'prop') return allPropstats(target, request, scope);
  const plan = propPlan(request);
  if (plan.dead) return scope.deadProperties(target).then((dead) => askedPropstats(target, plan, dead, scope, new Map(), 0));
  return askedPropstats(target, plan, NO_DEAD_PROPERTIES, scope, new Map(), 0);
}

/** The plan's properties from the `from`th on, added to `groups`; continues asynchronously from the first value that must be awaited. */
function askedPropstats(
  target: PropertyTarget,
  plan: PropPlan,
  dead: readonly DeadProperty[],
  scope: PropertyScope,
  groups: PropstatGroups,
  from: number,
): PropstatGroups | Promise<PropstatGroups> {
  for (let i = from; i < plan.names.length; i++) {
    const { ns, local, def } = plan.names[i]!;
    const xml = propertyXml(target, ns, local, def, dead, scope);
    if (xml instanceof Promise) {
      return xml.then((value) => {
        addAsked(groups, ns, local, value);
        return askedPropstats(target, plan, dead, scope, groups, i + 1);
      });
    }
    addAsked(groups, ns, local, xml);
  }
  if (groups.size === 0) groups.set(200, []);
  return groups;
}

/** A property asked for by name: its value under 200, or its empty element under 404. */
function addAsked(groups: PropstatGroups, ns: string, local: string, xml: string | undefined): void {
  addToGroups(groups, xml === undefined ? 404 : 200, xml ?? el(ns, local));
}

/** allprop and propname: every property the target has. */
async function allPropstats(target: PropertyTarget, request: Exclude<PropfindRequest, { kind: 'prop' }>, scope: PropertyScope): Promise<PropstatGroups> {
  const groups: PropstatGroups = new Map();
  const add = (status: number, xml: string) => addToGroups(groups, status, xml);
  const dead = await scope.deadProperties(target);
  if (request.kind === 'propname') {
    for (const def of properties.all()) if ((await def.get(target, scope)) !== undefined) add(200, el(def.ns, def.local));
    for (const p of dead) if (!properties.get(p.namespace, p.name)) add(200, el(p.namespace, p.name));
    return groups;
  }

  const wanted = [
    ...properties.all().filter((d) => d.inAllprop),
    ...dead.map((p) => ({ ns: p.namespace, local: p.name })),
    ...request.include.map((n) => ({ ns: namespaceOf(n), local: n.localName ?? '' })),
  ];
  const seen = new Set<string>();
  for (const { ns, local } of wanted) {
    const key = `${ns} ${local}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const stored = dead.find((p) => p.namespace === ns && p.name === local);
    if (stored) {
      add(200, stored.xml);
      continue;
    }
    const def = properties.get(ns, local);
    const value = def ? await def.get(target, scope) : undefined;
    if (value !== undefined) add(200, el(ns, local, value));
  }
  if (groups.size === 0) groups.set(200, []);
  return groups;
}

/** Answers a PROPFIND over a ready list of targets as a 207 multistatus. */
export async function respondPropfind(koa: Koa.Context, scope: PropertyScope, request: PropfindRequest): Promise<void> {
  const responses: string[] = [];
  for (const target of scope.targets) {
    const groups = propstats(target, request, scope);
    responses.push(propstatResponse(target.href, groups instanceof Promise ? await groups : groups));
  }
  koa.status = 207;
  koa.type = 'application/xml; charset=utf-8';
  koa.body = multistatus(responses);
}

export async function propfind(req: DavRequest): Promise<void> {
  const request = parsePropfind(await readXmlBody(req.koa, req.deps.config.maxXmlBytes));
  const depth = parseDepth(req.koa.get('Depth') || undefined, 'infinity');
  const { db } = req.deps;
  await checkPreconditions(req, db, []);
  const node = req.node;
  if (!node) throw new DavError(404);

  const targets = await collectTargets(req, db, depth);
  await respondPropfind(req.koa, new PropertyScope(db, req.user.id, req, targets), request);
}

/** A stored resource of the user's, at `segments` below the home of `space`, as the property layer sees it. */
export function storedTarget(prefix: string, space: Space, userName: string, segments: readonly string[], node: Node): PropertyTarget & { node: Node; lockPath: string } {
  const collection = isCollection(node);
  return {
    href: spaceHref(prefix, space, userName, segments, collection),
    isCollection: collection,
    name: segments.at(-1) ?? userName,
    node,
    lockPath: lockPath(space, segments),
  };
}

async function collectTargets(req: DavRequest, q: Queryable, depth: Depth): Promise<PropertyTarget[]> {
  const node = req.node!;
  const toTarget = (n: Node, segments: string[]) => storedTarget(req.prefix, req.space, req.user.name, segments, n);
  if (depth === 0 || !isCollection(node)) return [toTarget(node, req.segments)];
  if (depth === 1) {
    const members = await listChildren(q, req.user.id, node.id);
    const self = toTarget(node, req.segments);
    // Members' hrefs and lock paths extend the collection's (the same as toTarget's, built once).
    const lockBase = self.lockPath! + '/';
    return [
      self,
      ...members.map((m): PropertyTarget => {
        const collection = isCollection(m);
        return { href: self.href + encodeSegment(m.name) + (collection ? '/' : ''), isCollection: collection, name: m.name, node: m, lockPath: lockBase + m.name };
      }),
    ];
  }
  const subtree = await listSubtree(q, req.user.id, node.id, MAX_INFINITY_RESOURCES + 1);
  if (subtree.length > MAX_INFINITY_RESOURCES) {
    throw new DavError(403, { condition: 'propfind-finite-depth', message: `more than ${MAX_INFINITY_RESOURCES} resources; use Depth 1` });
  }
  return subtree.map((d) => toTarget(d.node, [...req.segments, ...d.path]));
}
