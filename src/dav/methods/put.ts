import type Koa from 'koa';
import type { DavRequest } from '../context.js';
import { evaluateConditions, expectedMember } from '../conditional.js';
import { storedContentType } from '../content-type.js';
import { DavError, insufficientStorage, quotaExceeded } from '../errors.js';
import { httpDate } from '../http-date.js';
import { checkPreconditions, type WriteScope } from '../locks/guard.js';
import { lockPath, type Target } from '../paths.js';
import { blobClaimRow, BodyTooLargeError, claimBlob, collectBlobs, isStorageFull, keptInRow, releaseBlob, type HeldBlob, type StagedBlob } from '../../store/blobs.js';
import { fileBatcher } from '../../store/file-batches.js';
import { fileContent, insertNode, isCollection, lockMember, resolvePath, updateContent, usage, writeMember, type Beside, type ExpectedMember, type NodeContent, type WrittenMember } from '../../store/nodes.js';

/** Bodies at least this large are checked against locks and quota before they are received. */
const EARLY_CHECK_BYTES = 1024 * 1024;

/** The body's size as the client announced it (Windows and Finder send X-Expected-Entity-Length with chunked uploads); 0 if unknown. */
const announcedSize = (koa: Koa.Context) => Number(koa.get('Content-Length') || koa.get('X-Expected-Entity-Length') || 0);

/** 413 for a body announced larger than uploads may be. */
function refuseTooLarge(req: DavRequest): void {
  const limit = req.deps.config.maxUploadBytes;
  if (announcedSize(req.koa) > limit) throw new DavError(413, { message: `uploads are limited to ${limit} bytes` });
}

/**
 * Whether a PUT can skip the lookup of its target (dispatch.ts): a file of the files space that
 * announces no large body and no precondition but If-None-Match: *. Its body is received first,
 * and a small one goes to its folder's batch, which finds the folder by path
 * (store/file-batches.ts); any other, or one the batch did not write, is looked up then.
 */
export function putSkipsLookup(koa: Koa.Context, target: Extract<Target, { type: 'space' }>): boolean {
  return (
    target.space === 'files' &&
    target.segments.length > 0 &&
    !target.trailingSlash &&
    !koa.get('Content-Range') &&
    announcedSize(koa) < EARLY_CHECK_BYTES &&
    typeof expectedMember(koa) === 'string'
  );
}

/**
 * The checks of a PUT that need its target looked up: a collection cannot be replaced, the
 * parent must be one, the conditions must hold, and a large body is refused before it is sent.
 */
async function checkTarget(req: DavRequest, scopes: (exists: boolean) => WriteScope[]): Promise<void> {
  const { koa, deps, user } = req;
  if (isCollection(req.node)) throw new DavError(405, { message: 'cannot PUT to a collection' });
  if (!req.parent || !isCollection(req.parent)) throw new DavError(409, { message: 'the parent collection does not exist' });
  if (koa.get('Content-Range')) throw new DavError(400, { message: 'partial PUT with Content-Range is not supported' });
  refuseTooLarge(req);
  const expected = announcedSize(koa);
  evaluateConditions(koa, req.node, false);
  if (expected >= EARLY_CHECK_BYTES) {
    // Refuse before receiving a large body; the transaction below checks all of it again.
    await checkPreconditions(req, deps.db, scopes(Boolean(req.node)));
    const { used, quota } = await usage(deps.db, user.id);
    if (quota !== null && used - (req.node?.size ?? 0) + expected > quota) throw quotaExceeded();
  }
}

/**
 * PUT (RFC 9110 §9.3.4, RFC 4918 §9.7). The body streams to a staged blob first; only then does
 * one short transaction re-check the conditions against the locked rows and swap the content,
 * so an aborted upload or a failed precondition leaves the old content untouched.
 */
export async function put(request: DavRequest): Promise<void> {
  let req = request;
  const { koa, deps, user } = req;
  const name = req.segments.at(-1);
  if (name === undefined) throw new DavError(405, { message: 'the home collection cannot be replaced' });

  const path = lockPath(req.space, req.segments);
  // A new member changes its parent's membership, which a depth-0 lock on the parent protects.
  const scopes = (exists: boolean): WriteScope[] => (exists ? [{ path }] : [{ path }, { path: lockPath(req.space, req.segments.slice(0, -1)) }]);
  if (!req.unresolved) await checkTarget(req, scopes);
  else refuseTooLarge(req);

  let staged: StagedBlob;
  try {
    staged = await deps.blobs.stage(user.id, koa.req, deps.config.maxUploadBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new DavError(413, { message: error.message });
    if (isStorageFull(error)) throw insufficientStorage();
    throw new DavError(400, { message: 'the upload was interrupted' });
  }

  const contentType = storedContentType(koa.get('Content-Type'));
  let replaced: string | null;
  try {
    const batched = req.unresolved && keptInRow(staged) ? await writeIntoFolder(req, name, staged, contentType) : undefined;
    if (!batched && req.unresolved) {
      // Not written by the batch, or not for it: looked up now, and checked as any other PUT.
      const { node, parent } = await resolvePath(deps.db, user.id, [req.space, ...req.segments]);
      req = { ...req, node, parent, unresolved: undefined };
      await checkTarget(req, scopes);
    }
    const written = batched ?? (await writeLookedUp(req, name, staged, contentType, scopes));
    replaced = written.previousBlob;
    answer(koa, written);
  } finally {
    await staged.discard();
  }
  if (replaced && replaced !== staged.sha256) await collectBlobs(deps.db, deps.blobs, user.id, [replaced]);
}

/** Writes the staged body at a target looked up and checked (checkTarget); what was written. */
async function writeLookedUp(req: DavRequest, name: string, staged: StagedBlob, contentType: string | null, scopes: (exists: boolean) => WriteScope[]): Promise<WrittenMember> {
  const { koa, deps, user } = req;
  let published = false;
  try {
    // A large body is made durable under its hash before the transaction, so no row or
    // connection waits on fsync; a small one is kept in its blobs row, durable with the commit.
    if (!keptInRow(staged)) {
      await deps.blobs.publish(user.id, staged);
      published = true;
    }
    const content = fileContent(staged, contentType);
    // Most writes carry no precondition, or one writeMember checks itself (If-None-Match: *,
    // If-Match): then two statements do the whole write.
    // With its body in its row, it is one round trip with its COMMIT; a published body must be
    // checked once its row is claimed, before the commit (ensurePublished).
    const expected = expectedMember(koa);
    const claim = blobClaimRow(user.id, staged);
    const pipelined = expected && !published ? await writeAtOnce(req, name, content, expected, claim) : undefined;
    return pipelined ?? await deps.db.transaction(async (tx) => {
      const written = expected && published ? await writeMember(tx, req.parent!, name, 'file', content, expected, claim) : undefined;
      if (written) {
        await deps.blobs.ensurePublished(user.id, staged);
        return written;
      }
      const { parent, member, locksHeld } = await lockMember(tx, user.id, req.parent!.id, name);
      if (!parent) throw new DavError(409, { message: 'the parent collection was removed' });
      if (isCollection(member)) throw new DavError(405, { message: 'cannot PUT to a collection' });
      evaluateConditions(koa, member, false);
      await checkPreconditions(req, tx, scopes(Boolean(member)), { locksHeld });
      const node = member
        ? await updateContent(tx, member, content)
        : await insertNode(tx, { userId: user.id, parentId: parent.id, name, kind: 'file', ...content });
      // The blob row, for the node's deferred foreign key.
      await claimBlob(tx, deps.blobs, user.id, staged);
      return { node, created: !member, previousBlob: member?.blobSha256 ?? null };
    });
  } catch (error) {
    if (published) await releaseBlob(deps.db, deps.blobs, user.id, staged);
    throw error;
  }
}

function answer(koa: Koa.Context, { node, created }: Pick<WrittenMember, 'node' | 'created'>): void {
  koa.set('ETag', node.etag);
  koa.set('Last-Modified', httpDate(node.modifiedAt));
  koa.status = created ? 201 : 204;
}

/**
 * A small file not looked up (putSkipsLookup), with those waiting for the same folder: the batch
 * finds the folder by its path (store/file-batches.ts). Undefined when it was not written there
 * (no such folder, a collection or a lock in the way, If-None-Match: * and a file there).
 */
function writeIntoFolder(req: DavRequest, name: string, staged: HeldBlob, contentType: string | null): Promise<WrittenMember | undefined> {
  const expected = expectedMember(req.koa) as 'any' | 'absent';
  const folder = { userId: req.user.id, path: [req.space, ...req.segments.slice(0, -1)], kind: 'collection' } as const;
  return fileBatcher(req.deps.db).write(folder, { name, blob: staged, contentType, expected });
}

/** A write whose only precondition writeMember checks, in one pipelined transaction. Undefined when nothing was written. */
function writeAtOnce(req: DavRequest, name: string, content: NodeContent, expected: ExpectedMember, claim: Beside): Promise<WrittenMember | undefined> {
  return req.deps.db.pipelined((tx) => writeMember(tx, req.parent!, name, 'file', content, expected, claim), { batchKey: req.user.id });
}
