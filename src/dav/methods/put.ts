import type { DavRequest } from '../context.js';
import { evaluateConditions } from '../conditional.js';
import { storedContentType } from '../content-type.js';
import { DavError } from '../errors.js';
import { checkPreconditions } from '../locks/guard.js';
import { lockPath } from '../paths.js';
import { BodyTooLargeError, claimBlob, collectBlobs, releaseBlob, type StagedBlob } from '../../store/blobs.js';
import { getNode, insertNode, resolvePath, updateContent, usage } from '../../store/nodes.js';

/**
 * PUT (RFC 9110 §9.3.4, RFC 4918 §9.7). The body streams to a staged blob first; only then does
 * one short transaction re-check the conditions against the locked row and swap the content,
 * so an aborted upload or a failed precondition leaves the old content untouched.
 */
export async function put(req: DavRequest): Promise<void> {
  const { koa, deps, user } = req;
  const name = req.segments.at(-1);
  if (name === undefined) throw new DavError(405, { message: 'the home collection cannot be replaced' });
  if (req.node?.kind === 'collection') throw new DavError(405, { message: 'cannot PUT to a collection' });
  if (!req.parent || req.parent.kind !== 'collection') throw new DavError(409, { message: 'the parent collection does not exist' });
  if (koa.get('Content-Range')) throw new DavError(400, { message: 'partial PUT with Content-Range is not supported' });

  // Fail fast, before receiving a possibly large body; all of it is checked again under the row lock.
  evaluateConditions(koa, req.node, false);
  const scopes = req.node ? [{ path: lockPath(req.space, req.segments) }] : [{ path: lockPath(req.space, req.segments) }, { path: lockPath(req.space, req.segments.slice(0, -1)) }];
  await checkPreconditions(req, deps.db, scopes);
  const expected = Number(koa.get('Content-Length') || koa.get('X-Expected-Entity-Length') || 0);
  if (expected > deps.config.maxUploadBytes) throw new DavError(413, { message: `uploads are limited to ${deps.config.maxUploadBytes} bytes` });
  const { used, quota } = await usage(deps.db, user.id);
  if (quota !== null && used - (req.node?.size ?? 0) + expected > quota) throw new DavError(507, { message: 'quota exceeded' });

  let staged: StagedBlob;
  try {
    staged = await deps.blobs.stage(user.id, koa.req, deps.config.maxUploadBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new DavError(413, { message: error.message });
    throw new DavError(400, { message: 'the upload was interrupted' });
  }

  const contentType = storedContentType(koa.get('Content-Type'));
  let created = false;
  let replaced: string | null = null;
  let published = false;
  try {
    const saved = await deps.db.transaction(async (tx) => {
      const parent = await getNode(tx, user.id, req.parent!.id, true);
      if (!parent) throw new DavError(409, { message: 'the parent collection was removed' });
      const { node: current } = await resolvePath(tx, user.id, [req.space, ...req.segments]);
      const locked = current && (await getNode(tx, user.id, current.id, true));
      if (locked?.kind === 'collection') throw new DavError(405, { message: 'cannot PUT to a collection' });
      evaluateConditions(koa, locked, false);
      await checkPreconditions(req, tx, scopes);
      let node;
      if (locked) {
        replaced = locked.blobSha256;
        node = await updateContent(tx, locked, staged.sha256, staged.size, contentType);
      } else {
        created = true;
        node = await insertNode(tx, { userId: user.id, parentId: parent.id, name, kind: 'file', blobSha256: staged.sha256, size: staged.size, contentType });
      }
      const after = await usage(tx, user.id);
      if (after.quota !== null && after.used > after.quota) throw new DavError(507, { message: 'quota exceeded' });
      published = true;
      await claimBlob(tx, deps.blobs, user.id, staged);
      return node;
    });
    koa.set('ETag', saved.etag);
    koa.set('Last-Modified', saved.modifiedAt.toUTCString());
    koa.status = created ? 201 : 204;
  } catch (error) {
    if (published) await releaseBlob(deps.db, deps.blobs, user.id, staged);
    throw error;
  } finally {
    await staged.discard();
  }
  if (replaced && replaced !== staged.sha256) await collectBlobs(deps.db, deps.blobs, user.id, [replaced]);
}
