import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { checkPreconditions, removeLocksUnder, type WriteScope } from '../locks/guard.js';
import { lockPath, parseTarget } from '../paths.js';
import { collectBlobs } from '../../store/blobs.js';
import { copyNode, deleteNode, getNode, moveNode, resolvePath, isCollection } from '../../store/nodes.js';
import { parseDepth } from './propfind.js';
import { placementRules } from '../placement.js';

/**
 * The Destination header (RFC 4918 §10.3) as names below the user's home: an absolute URI on
 * this server or an absolute path. Another host is 502 (§9.8.5); another user's tree is 403.
 */
export function destinationOf(req: DavRequest): string[] {
  const raw = req.koa.get('Destination');
  if (!raw) throw new DavError(400, { message: 'Destination header is required' });
  let url: URL;
  try {
    url = new URL(raw, `${req.koa.protocol}://${req.koa.host}`);
  } catch {
    throw new DavError(400, { message: 'Destination is not a valid URI' });
  }
  const ours = [req.koa.host, req.deps.config.baseUrl?.host].filter(Boolean);
  if (!ours.includes(url.host)) throw new DavError(502, { message: 'Destination is on another server' });
  const target = parseTarget(url.pathname, req.prefix);
  if (!target || target.type !== 'space' || target.space !== req.space || target.owner !== req.user.name) {
    throw new DavError(403, { message: 'Destination is outside your tree' });
  }
  return target.segments;
}

function isInside(inner: readonly string[], outer: readonly string[]): boolean {
  return inner.length > outer.length && outer.every((name, i) => inner[i] === name);
}

/**
 * COPY and MOVE (RFC 4918 §9.8, §9.9), each one transaction. A MOVE rewrites one row.
 * `given` replaces the Destination and Overwrite headers (the web pages' rename and move).
 */
export async function transfer(req: DavRequest, move: boolean, given?: { to: string[]; overwrite: boolean }): Promise<void> {
  const { deps, user, koa } = req;
  const source = req.node;
  if (!source) throw new DavError(404);
  if (req.segments.length === 0) throw new DavError(403, { message: 'the home collection cannot be moved or copied' });
  const to = given?.to ?? destinationOf(req);
  if (to.length === 0) throw new DavError(403, { message: 'the home collection cannot be replaced' });
  const depth = isCollection(source) ? parseDepth(koa.get('Depth') || undefined, 'infinity', move ? ['infinity'] : [0, 'infinity']) : 'infinity';
  const overwriteHeader = given ? (given.overwrite ? 'T' : 'F') : (koa.get('Overwrite') || 'T').trim().toUpperCase();
  if (overwriteHeader !== 'T' && overwriteHeader !== 'F') throw new DavError(400, { message: 'Overwrite must be T or F' });
  const sameName = to.length === req.segments.length && to.every((n, i) => n === req.segments[i]);
  if (sameName) throw new DavError(403, { message: 'source and destination are the same resource' });
  if (isCollection(source) && isInside(to, req.segments)) throw new DavError(409, { message: 'cannot copy or move a collection into itself' });

  const fromPath = lockPath(req.space, req.segments);
  const toPath = lockPath(req.space, to);
  const released: string[] = [];
  const created = await deps.db.transaction(async (tx) => {
    const current = await getNode(tx, user.id, source.id, true);
    if (!current) throw new DavError(404);
    const { node: existing, parent } = await resolvePath(tx, user.id, [req.space, ...to]);
    if (!parent || !isCollection(parent)) throw new DavError(409, { message: 'the destination collection does not exist' });
    if (existing && overwriteHeader === 'F') throw new DavError(412, { message: 'the destination exists and Overwrite is F' });
    if (existing && isInside(req.segments, to)) throw new DavError(409, { message: 'the destination contains the source' });

    const rules = placementRules.get(current.kind);
    const landing = { parent, segments: to };
    if (!rules || !rules.fits(landing)) throw new DavError(403, { message: `a ${current.kind} cannot be put there` });
    if (!move && !rules.copyable) throw new DavError(403, { message: `a ${current.kind} cannot be copied` });

    const scopes: WriteScope[] = [{ path: toPath, subtree: true }, { path: lockPath(req.space, to.slice(0, -1)) }];
    if (move) scopes.push({ path: fromPath, subtree: true }, { path: lockPath(req.space, req.segments.slice(0, -1)) });
    await checkPreconditions(req, tx, scopes);

    if (existing) {
      released.push(...(await deleteNode(tx, existing)));
      await removeLocksUnder(tx, user.id, toPath);
    }
    if (move) {
      await moveNode(tx, current, parent.id, to.at(-1)!);
      // Locks stay with the URL they were taken on (RFC 4918 §7.7); the moved resources leave them.
      await removeLocksUnder(tx, user.id, fromPath);
      await rules.landed?.(tx, current, current, landing, false);
    } else {
      const copy = await copyNode(tx, current, parent.id, to.at(-1)!, depth === 'infinity');
      await rules.landed?.(tx, current, copy, landing, true);
    }
    return !existing;
  });
  await collectBlobs(deps.db, deps.blobs, user.id, released);
  koa.status = created ? 201 : 204;
}

export const copy = (req: DavRequest) => transfer(req, false);
export const move = (req: DavRequest) => transfer(req, true);
