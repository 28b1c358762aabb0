import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { claimBlob, type StagedBlob } from '../../store/blobs.js';
import type { Queryable } from '../../store/db.js';
import { covers, createLock, deleteLock, holdLockTable, isBelow, listActiveLocks, refreshLock, type Lock } from '../../store/locks.js';
import { getNode, insertNode, resolvePath, type Node, isCollection } from '../../store/nodes.js';
import { readXmlBody } from '../body.js';
import { evaluateConditions } from '../conditional.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { parseDepth } from '../methods/propfind.js';
import { lockPath } from '../paths.js';
import { DAV } from '../xml/names.js';
import { child, children, expectRoot, is, type Element } from '../xml/parse.js';
import { davDocument, davEl, serializeElement } from '../xml/write.js';
import { checkWithLocks, hrefElements, ifHeaderOf, lockRootHref } from './guard.js';
import { submittedTokens } from './ifheader.js';
import { activeLockXml } from './properties.js';

/** Lock lifetimes: what a client gets without asking, and the most it can get (Infinite included). */
export const DEFAULT_TIMEOUT_SECONDS = 3600;
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;

/**
 * The Timeout header (RFC 4918 §10.7): a list of TimeTypes in order of preference; the first
 * one understood wins, capped at a week. An absent or unreadable header gets the default.
 */
export function parseTimeout(header: string): number {
  for (const part of header.split(',')) {
    const value = part.trim();
    if (/^infinite$/i.test(value)) return MAX_TIMEOUT_SECONDS;
    const seconds = /^second-(\d{1,12})$/i.exec(value);
    if (seconds) return Math.min(Math.max(Number(seconds[1]), 1), MAX_TIMEOUT_SECONDS);
  }
  return DEFAULT_TIMEOUT_SECONDS;
}

interface LockInfo {
  exclusive: boolean;
  ownerXml: string | null;
}

/** The DAV:lockinfo body of a LOCK request (RFC 4918 §14.11). */
export function parseLockInfo(root: Element): LockInfo {
  expectRoot(root, 'lockinfo');
  const scope = child(root, DAV, 'lockscope');
  const type = child(root, DAV, 'locktype');
  if (!scope || !type) throw new DavError(400, { message: 'lockinfo needs a lockscope and a locktype' });
  const kind = children(scope)[0];
  if (!kind || !(is(kind, DAV, 'exclusive') || is(kind, DAV, 'shared'))) {
    throw new DavError(422, { message: 'the lock scope must be exclusive or shared' });
  }
  if (!children(type).some((t) => is(t, DAV, 'write'))) throw new DavError(422, { message: 'only write locks are supported' });
  const owner = child(root, DAV, 'owner');
  return { exclusive: is(kind, DAV, 'exclusive'), ownerXml: owner ? serializeElement(owner) : null };
}

/** Whether a lock on `root` (to `depthInfinity`) would share any resource with `other`. */
function overlaps(other: Lock, root: string, depthInfinity: boolean): boolean {
  return covers(other, root) || (depthInfinity && isBelow(other.root, root));
}

function lockDiscoveryBody(req: DavRequest, locks: readonly Lock[]): string {
  return davDocument('prop', davEl('lockdiscovery', locks.map((l) => activeLockXml(req, l)).join('')));
}

function respond(req: DavRequest, status: number, shown: readonly Lock[], own: Lock, newToken: boolean): void {
  const { koa } = req;
  koa.status = status;
  if (newToken) koa.set('Lock-Token', `<${own.token}>`);
  koa.set('Timeout', `Second-${own.remainingSeconds}`);
  koa.type = 'application/xml; charset=utf-8';
  koa.body = lockDiscoveryBody(req, shown);
}

/**
 * LOCK (RFC 4918 §9.10). With a lockinfo body it creates a lock, and on an unmapped URL an
 * empty file to hold it (§7.3: no lock-null resources). Without a body it refreshes the lock
 * whose token the If header names.
 */
export async function lock(req: DavRequest): Promise<void> {
  const body = await readXmlBody(req.koa, req.deps.config.maxXmlBytes);
  const timeout = parseTimeout(req.koa.get('Timeout'));
  if (!body) return refresh(req, timeout);
  const info = parseLockInfo(body);
  // §9.10.3: only 0 and infinity; infinity when absent.
  const depth = parseDepth(req.koa.get('Depth') || undefined, 'infinity', [0, 'infinity']);
  const { deps, user } = req;
  const path = lockPath(req.space, req.segments);

  // The empty body is kept in its blobs row (keptInRow): the transaction's commit stores it.
  let staged: StagedBlob | undefined;
  if (!req.node) {
    if (!req.parent || !isCollection(req.parent)) throw new DavError(409, { message: 'the parent collection does not exist' });
    if (req.trailingSlash) throw new DavError(409, { message: 'LOCK creates files, not collections' });
    staged = await deps.blobs.stage(user.id, Readable.from([]), 0);
  }
  try {
    const { created, locks, own } = await deps.db.transaction(async (tx) => {
      const { node, collection } = await lockTarget(req, tx, Boolean(staged));
      const locks = await listActiveLocks(tx, user.id);
      // A new member changes its collection's membership, which a lock on the collection protects (§7.4).
      await checkWithLocks(req, tx, node ? [] : [{ path: lockPath(req.space, req.segments.slice(0, -1)) }], locks);
      evaluateConditions(req.koa, node, false);

      const depthInfinity = depth === 'infinity';
      const conflicts = locks.filter((l) => (info.exclusive || l.exclusive) && overlaps(l, path, depthInfinity));
      if (conflicts.length > 0) {
        const hrefs = [...new Set(conflicts.map((l) => lockRootHref(req, l)))];
        throw new DavError(423, { condition: 'no-conflicting-lock', conditionBody: hrefElements(hrefs) });
      }
      if (!node) {
        await insertNode(tx, { userId: user.id, parentId: req.parent!.id, name: req.segments.at(-1)!, kind: 'file', blobSha256: staged!.sha256, size: 0 });
        await claimBlob(tx, deps.blobs, user.id, staged!);
      }
      const own = await createLock(tx, user.id, {
        token: `urn:uuid:${randomUUID()}`,
        root: path,
        rootIsCollection: collection,
        depthInfinity,
        exclusive: info.exclusive,
        ownerXml: info.ownerXml,
        timeoutSeconds: timeout,
      });
      return { created: !node, locks: [...locks, own], own };
    });
    // §9.10.1: the response carries the whole lockdiscovery value of the resource.
    respond(req, created ? 201 : 200, locks.filter((l) => covers(l, path)), own, true);
  } finally {
    await staged?.discard();
  }
}

/**
 * The resource being locked, read again and row-locked inside the transaction so writers of it
 * wait for the lock decision. Lock creation is serialised per user before the conflict check.
 */
async function lockTarget(req: DavRequest, tx: Queryable, create: boolean): Promise<{ node: Node | undefined; collection: boolean }> {
  await holdLockTable(tx, req.user.id);
  const { node, parent } = await resolvePath(tx, req.user.id, [req.space, ...req.segments]);
  if (node) {
    const locked = await getNode(tx, req.user.id, node.id, true);
    if (!locked) throw new DavError(404);
    return { node: locked, collection: isCollection(locked) };
  }
  if (!create) throw new DavError(409, { message: 'the resource was created meanwhile; retry the LOCK' });
  if (!parent || !isCollection(parent) || !(await getNode(tx, req.user.id, parent.id, true))) {
    throw new DavError(409, { message: 'the parent collection does not exist' });
  }
  return { node: undefined, collection: false };
}

/** §9.10.2: a LOCK without a body refreshes the locks covering the resource whose tokens the If header names. */
async function refresh(req: DavRequest, timeout: number): Promise<void> {
  const lists = ifHeaderOf(req);
  if (!lists) throw new DavError(400, { message: 'a LOCK without a body refreshes a lock and needs its token in the If header' });
  const path = lockPath(req.space, req.segments);
  const { user } = req;
  const { shown, own } = await req.deps.db.transaction(async (tx) => {
    const locks = await listActiveLocks(tx, user.id);
    await checkWithLocks(req, tx, [], locks, lists);
    const tokens = submittedTokens(lists);
    const named = locks.filter((l) => tokens.has(l.token) && covers(l, path));
    if (named.length === 0) throw new DavError(412, { message: 'the If header names no lock on this resource' });
    const refreshed = new Map<string, Lock>();
    for (const l of named) {
      const updated = await refreshLock(tx, user.id, l.token, timeout);
      if (updated) refreshed.set(updated.token, updated);
    }
    const shown = locks.filter((l) => covers(l, path)).map((l) => refreshed.get(l.token) ?? l);
    return { shown, own: refreshed.get(named[0]!.token) ?? named[0]! };
  });
  respond(req, 200, shown, own, false);
}

/**
 * The token of an UNLOCK's Lock-Token header (RFC 4918 §10.5: a Coded-URL, `<token>`).
 * Client quirk: the `webdav` npm package (v5) sends the bare token without angle brackets;
 * an absolute URI on its own is accepted for it.
 */
function lockTokenHeader(req: DavRequest): string {
  const value = req.koa.get('Lock-Token').trim();
  const match = /^<([^<>\s]+)>$/.exec(value) ?? /^([A-Za-z][A-Za-z0-9+.-]*:[^<>\s]+)$/.exec(value);
  if (!match) throw new DavError(400, { message: 'UNLOCK needs a Lock-Token header: <token>' });
  return match[1]!;
}

/** UNLOCK (RFC 4918 §9.11): removes a lock whose scope includes the request URI. */
export async function unlock(req: DavRequest): Promise<void> {
  const token = lockTokenHeader(req);
  const path = lockPath(req.space, req.segments);
  const { user } = req;
  await req.deps.db.transaction(async (tx) => {
    const locks = await listActiveLocks(tx, user.id);
    await checkWithLocks(req, tx, [], locks);
    const found = locks.find((l) => l.token === token);
    // §9.11.1: a token that names no lock here, or a lock not covering this URL.
    if (!found || !covers(found, path)) {
      throw new DavError(409, { condition: 'lock-token-matches-request-uri', message: 'no such lock covers this resource' });
    }
    await deleteLock(tx, user.id, token);
  });
  req.koa.status = 204;
}
