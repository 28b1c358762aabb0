import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { hasBody } from '../body.js';
import { checkPreconditions } from '../locks/guard.js';
import { lockPath } from '../paths.js';
import { getNode, insertNode, resolvePath } from '../../store/nodes.js';

/** MKCOL (RFC 4918 §9.3). */
export async function mkcol(req: DavRequest): Promise<void> {
  const { deps, user } = req;
  const name = req.segments.at(-1);
  if (req.node || name === undefined) throw new DavError(405, { message: 'a resource already exists here' });
  // §9.3: a body this server does not understand is 415 (extended MKCOL comes with CalDAV/CardDAV).
  if (await hasBody(req.koa)) throw new DavError(415, { message: 'MKCOL with a body is not supported here' });
  if (!req.parent || req.parent.kind !== 'collection') throw new DavError(409, { message: 'the parent collection does not exist' });
  const scopes = [{ path: lockPath(req.space, req.segments) }, { path: lockPath(req.space, req.segments.slice(0, -1)) }];

  await deps.db.transaction(async (tx) => {
    const parent = await getNode(tx, user.id, req.parent!.id, true);
    if (!parent) throw new DavError(409, { message: 'the parent collection was removed' });
    if ((await resolvePath(tx, user.id, [req.space, ...req.segments])).node) throw new DavError(405, { message: 'a resource already exists here' });
    await checkPreconditions(req, tx, scopes);
    await insertNode(tx, { userId: user.id, parentId: parent.id, name, kind: 'collection' });
  });
  req.koa.status = 201;
}
