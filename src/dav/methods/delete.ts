import type { DavRequest } from '../context.js';
import { evaluateConditions } from '../conditional.js';
import { DavError } from '../errors.js';
import { checkPreconditions, removeLocksUnder } from '../locks/guard.js';
import { lockPath } from '../paths.js';
import { collectBlobs } from '../../store/blobs.js';
import { deleteNode, getNode, isCollection } from '../../store/nodes.js';
import { parseDepth } from './propfind.js';

/**
 * DELETE (RFC 4918 §9.6): a collection goes with everything in it, in one transaction. When a
 * member is locked nothing is deleted and the answer names it (207 with 423, see the guard).
 */
export async function del(req: DavRequest): Promise<void> {
  const { deps, user } = req;
  const node = req.node;
  if (!node) throw new DavError(404);
  if (req.segments.length === 0) throw new DavError(403, { message: 'the home collection cannot be deleted' });
  // §9.6.1: on a collection only Depth: infinity is allowed.
  if (isCollection(node)) parseDepth(req.koa.get('Depth') || undefined, 'infinity', ['infinity']);
  const path = lockPath(req.space, req.segments);
  const scopes = [{ path, subtree: true }, { path: lockPath(req.space, req.segments.slice(0, -1)) }];

  // It frees room: the embedded store takes it on a fuller disk than other changes (store/disk-room.ts).
  const blobs = await deps.db.transaction(async (tx) => {
    // Parent before member, the order every writer locks in (lockMember): the other way round,
    // a DELETE and a PUT in the same collection deadlock on PostgreSQL.
    if (node.parentId !== null) await getNode(tx, user.id, node.parentId, true);
    const current = await getNode(tx, user.id, node.id, true);
    if (!current) throw new DavError(404);
    evaluateConditions(req.koa, current, false);
    await checkPreconditions(req, tx, scopes);
    const released = await deleteNode(tx, current);
    await removeLocksUnder(tx, user.id, path);
    return released;
  }, { frees: true });
  await collectBlobs(deps.db, deps.blobs, user.id, blobs);
  req.koa.status = 204;
}
