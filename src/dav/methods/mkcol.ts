import type { Queryable } from '../../store/db.js';
import { getNode, insertNode, isCollection, resolvePath, type Node } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { readXmlBody } from '../body.js';
import { checkPreconditions } from '../locks/guard.js';
import { lockPath, spaceHref } from '../paths.js';
import { propstatResponse } from '../multistatus.js';
import { children, is, namespaceOf, type Element } from '../xml/parse.js';
import { CALDAV, CARDDAV, DAV } from '../xml/names.js';
import { XML_DECLARATION } from '../xml/write.js';
import { applyPropertyUpdates, parseInstructions, type Instruction } from './proppatch.js';

/** How a new collection is made: the row(s) for its kind, created inside the caller's transaction. */
export type CollectionFactory = (tx: Queryable, parent: Node, name: string) => Promise<Node>;

/**
 * Creates a collection and sets its initial properties in one transaction, all or nothing.
 * A refused property fails the whole request with 403 and a `responseElement` body listing
 * each property's status (RFC 5689 §3, RFC 4791 §5.3.1.2).
 */
export async function makeCollection(
  req: DavRequest,
  create: CollectionFactory,
  instructions: readonly Instruction[],
  responseElement: { ns: string; local: string },
): Promise<void> {
  const { deps, user } = req;
  const name = req.segments.at(-1)!;
  const scopes = [{ path: lockPath(req.space, req.segments) }, { path: lockPath(req.space, req.segments.slice(0, -1)) }];
  await deps.db.transaction(async (tx) => {
    const parent = await getNode(tx, user.id, req.parent!.id, true);
    if (!parent) throw new DavError(409, { message: 'the parent collection was removed' });
    if ((await resolvePath(tx, user.id, [req.space, ...req.segments])).node) throw new DavError(405, { condition: 'resource-must-be-null' });
    await checkPreconditions(req, tx, scopes);
    const node = await create(tx, parent, name);
    if (instructions.length === 0) return;
    const href = spaceHref(req.prefix, req.space, user.name, req.segments, true);
    const target = { href, isCollection: true, name, node, lockPath: lockPath(req.space, req.segments) };
    // resourcetype and anything the factory consumed were applied by creating the right kind.
    const { failed, groups } = await applyPropertyUpdates(tx, target, instructions, CREATION_PROPERTIES);
    if (failed) {
      const { ns, local } = responseElement;
      const root = ns === DAV ? `D:${local} xmlns:D="DAV:"` : `${local} xmlns="${ns}" xmlns:D="DAV:"`;
      const close = ns === DAV ? `D:${local}` : local;
      const inner = propstatResponse(href, groups).replace(/^<D:response>|<\/D:response>$/g, '').replace(/^<D:href>[^<]*<\/D:href>/, '');
      throw new DavError(403, { document: `${XML_DECLARATION}<${root}>${inner}</${close}>` });
    }
  });
  req.koa.status = 201;
  req.koa.set('Cache-Control', 'no-cache');
}

/** Properties a new collection gets by being created as its kind, not by a later write. */
const CREATION_PROPERTIES: ReadonlySet<string> = new Set([`${DAV} resourcetype`, `${CALDAV} supported-calendar-component-set`]);

/** The kind a DAV:resourcetype value asks for (RFC 5689 §3), or undefined when this server cannot make it. */
function kindOf(resourcetype: Element | undefined): Node['kind'] | undefined {
  if (!resourcetype) return 'collection';
  const types = children(resourcetype).map((c) => `${namespaceOf(c)} ${c.localName}`);
  if (!types.includes(`${DAV} collection`)) return undefined;
  const extra = types.filter((t) => t !== `${DAV} collection`);
  if (extra.length === 0) return 'collection';
  if (extra.length === 1 && extra[0] === `${CALDAV} calendar`) return 'calendar';
  if (extra.length === 1 && extra[0] === `${CARDDAV} addressbook`) return 'addressbook';
  return undefined;
}

/** Where each kind of collection may be made: files nest freely; calendars sit in the calendar home. */
export function placementAllowed(req: DavRequest, kind: Node['kind'], parent: Node): boolean {
  if (kind === 'collection') return req.space === 'files' && parent.kind === 'collection';
  if (kind === 'calendar') return req.space === 'calendars' && req.segments.length === 1;
  if (kind === 'addressbook') return req.space === 'addressbooks' && req.segments.length === 1;
  return false;
}

/** Creates a collection of `kind`; other modules (CalDAV) register how their kinds are made. */
export const collectionFactories = new Map<Node['kind'], (instructions: readonly Instruction[]) => CollectionFactory>([
  ['collection', () => (tx, parent, name) => insertNode(tx, { userId: parent.userId, parentId: parent.id, name, kind: 'collection' })],
]);

/** MKCOL (RFC 4918 §9.3), and extended MKCOL with a DAV:mkcol body (RFC 5689). */
export async function mkcol(req: DavRequest): Promise<void> {
  const name = req.segments.at(-1);
  if (req.node || name === undefined) throw new DavError(405, { message: 'a resource already exists here' });
  // §9.3: a body this server does not understand (anything but a DAV:mkcol document) is 415.
  const body = await readXmlBody(req.koa, req.deps.config.maxXmlBytes).catch((error: unknown) => {
    if (error instanceof DavError && error.status === 413) throw error;
    throw new DavError(415, { message: 'MKCOL accepts only an XML mkcol body' });
  });
  if (body && !is(body, DAV, 'mkcol')) throw new DavError(415, { message: 'MKCOL accepts only a DAV:mkcol body' });
  if (!req.parent || !isCollection(req.parent)) throw new DavError(409, { message: 'the parent collection does not exist' });

  const instructions = body ? parseInstructions(body) : [];
  if (instructions.some((i) => i.op === 'remove')) throw new DavError(400, { message: 'mkcol may only set properties' });
  const resourcetype = instructions.find((i) => i.ns === DAV && i.local === 'resourcetype')?.element;
  const kind = kindOf(resourcetype);
  const factory = kind && collectionFactories.get(kind);
  if (!kind || !factory) throw new DavError(403, { condition: 'valid-resourcetype', message: 'this server cannot create that resource type' });
  if (!placementAllowed(req, kind, req.parent)) {
    throw new DavError(403, kind === 'calendar' ? { condition: 'calendar-collection-location-ok', ns: CALDAV } : { message: `a ${kind} cannot be created here` });
  }
  await makeCollection(req, factory(instructions), instructions, { ns: DAV, local: 'mkcol-response' });
}
