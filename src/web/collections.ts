import { randomBytes } from 'node:crypto';
import type { ServerDeps } from '../dav/context.js';
import type { CollectionInfo, CollectionSpace } from './api-types.js';
import { DavError } from '../dav/errors.js';
import { checkPreconditions } from '../dav/locks/guard.js';
import { collectionFactories } from '../dav/methods/mkcol.js';
import { lockPath, spaceHref } from '../dav/paths.js';
import { parseXml, textContent } from '../dav/xml/parse.js';
import { APPLE_ICAL, DAV } from '../dav/xml/names.js';
import { escapeXml } from '../dav/xml/write.js';
import { countChildren, findChildren, getNode, listChildren, resolvePath, type Node } from '../store/nodes.js';
import { listProperties, removeProperty, setProperty } from '../store/properties.js';
import type { WebContext } from './http.js';
import { davRequest } from './dav-bridge.js';



const KIND = { calendars: 'calendar', addressbooks: 'addressbook' } as const;
const COLOR = /^#[0-9a-fA-F]{6}$/;

/** The text of a stored dead property (`<displayname xmlns="DAV:">Work</displayname>`). */
function propertyText(xml: string | undefined): string | undefined {
  if (xml === undefined) return undefined;
  try {
    return textContent(parseXml(xml)).trim();
  } catch {
    return undefined;
  }
}

async function home(deps: ServerDeps, userId: number, space: CollectionSpace): Promise<Node> {
  const { node } = await resolvePath(deps.db, userId, [space]);
  if (!node) throw new DavError(404, { message: `no ${space} home` });
  return node;
}

export async function listCollections(deps: ServerDeps, prefix: string, user: { id: number; name: string }, space: CollectionSpace): Promise<CollectionInfo[]> {
  const root = await home(deps, user.id, space);
  const members = (await listChildren(deps.db, user.id, root.id)).filter((n) => n.kind === KIND[space]);
  const ids = members.map((n) => n.id);
  const [props, counts] = await Promise.all([listProperties(deps.db, user.id, ids), countChildren(deps.db, user.id, ids)]);
  return members.map((node) => {
    const dead = props.get(node.id) ?? [];
    const find = (ns: string, name: string) => dead.find((p) => p.namespace === ns && p.name === name)?.xml;
    const color = propertyText(find(APPLE_ICAL, 'calendar-color'))?.slice(0, 7);
    return {
      id: node.id,
      name: node.name,
      displayName: propertyText(find(DAV, 'displayname')) || node.name,
      color: space === 'calendars' ? (color && COLOR.test(color) ? color.toLowerCase() : null) : null,
      count: counts.get(node.id) ?? 0,
      href: spaceHref(prefix, space, user.name, [node.name], true),
    };
  });
}

/** One of the user's collections by id; 404 when it is not theirs or not of this space. */
export async function findCollection(deps: ServerDeps, userId: number, space: CollectionSpace, id: number): Promise<Node> {
  const [root, node] = await Promise.all([home(deps, userId, space), getNode(deps.db, userId, id)]);
  if (!node || node.parentId !== root.id || node.kind !== KIND[space]) throw new DavError(404, { message: 'no such collection' });
  return node;
}

/** A URL name from the display name: lower-case ASCII letters, digits and dashes. */
function slugOf(displayName: string): string {
  const slug = displayName
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug || (randomBytes(4).toString('hex'));
}

function validateLabel(displayName: string): string {
  const label = displayName.trim();
  if (label === '' || label.length > 200 || /[\u0000-\u001f\u007f]/.test(label)) throw new DavError(400, { message: 'a name needs 1 to 200 characters' });
  return label;
}

function validateColor(color: string): string {
  if (!COLOR.test(color)) throw new DavError(400, { message: 'a colour is written #rrggbb' });
  return color.toLowerCase();
}

/** Writes the display name and colour as the dead properties CalDAV and CardDAV clients read and PROPPATCH. */
async function writeLabels(tx: Parameters<typeof setProperty>[0], node: Node, labels: { displayName?: string; color?: string | null }): Promise<void> {
  if (labels.displayName !== undefined) {
    await setProperty(tx, node.userId, node.id, { namespace: DAV, name: 'displayname', xml: `<displayname xmlns="DAV:">${escapeXml(labels.displayName)}</displayname>` });
  }
  if (labels.color === null) await removeProperty(tx, node.userId, node.id, APPLE_ICAL, 'calendar-color');
  else if (labels.color !== undefined) {
    // Apple's form, #RRGGBBAA, which iOS and macOS expect.
    const value = `${labels.color.toUpperCase()}FF`;
    await setProperty(tx, node.userId, node.id, { namespace: APPLE_ICAL, name: 'calendar-color', xml: `<calendar-color xmlns="${APPLE_ICAL}">${value}</calendar-color>` });
  }
}

/** A new calendar or address book, made the way MKCALENDAR / extended MKCOL make one (collectionFactories). */
export async function createCollection(web: WebContext, space: CollectionSpace, fields: { displayName: string; color?: string }): Promise<number> {
  const displayName = validateLabel(fields.displayName);
  const color = space === 'calendars' && fields.color !== undefined ? validateColor(fields.color) : undefined;
  const factory = collectionFactories.get(KIND[space]);
  if (!factory) throw new Error(`no factory for ${KIND[space]}`);
  const slug = slugOf(displayName);
  const homeReq = await davRequest(web, space, []);
  return web.deps.db.transaction(async (tx) => {
    const root = await getNode(tx, web.user.id, homeReq.node!.id, true);
    if (!root) throw new DavError(409, { message: `no ${space} home` });
    // The first free name of slug, slug-2, slug-3…
    const candidates = [slug, ...Array.from({ length: 20 }, (_, i) => `${slug}-${i + 2}`)];
    const taken = await findChildren(tx, web.user.id, root.id, candidates);
    const name = candidates.find((c) => !taken.has(c)) ?? `${slug}-${randomBytes(4).toString('hex')}`;
    // A client's depth-0 lock on the home protects its membership (RFC 4918 §7.5).
    await checkPreconditions(homeReq, tx, [{ path: lockPath(space, [name]) }, { path: lockPath(space, []) }]);
    const node = await factory([])(tx, root, name);
    await writeLabels(tx, node, { displayName, ...(color !== undefined && { color }) });
    return node.id;
  });
}

/** Renames (display name) or recolours, as a PROPPATCH of those properties would. */
export async function updateCollection(web: WebContext, space: CollectionSpace, id: number, fields: { displayName?: string; color?: string | null }): Promise<void> {
  const node = await findCollection(web.deps, web.user.id, space, id);
  const displayName = fields.displayName === undefined ? undefined : validateLabel(fields.displayName);
  const color = space !== 'calendars' || fields.color === undefined ? undefined : fields.color === null ? null : validateColor(fields.color);
  const req = await davRequest(web, space, [node.name]);
  await web.deps.db.transaction(async (tx) => {
    const current = await getNode(tx, web.user.id, node.id, true);
    if (!current) throw new DavError(404);
    await checkPreconditions(req, tx, [{ path: lockPath(space, [node.name]) }]);
    await writeLabels(tx, current, { ...(displayName !== undefined && { displayName }), ...(color !== undefined && { color }) });
  });
}
