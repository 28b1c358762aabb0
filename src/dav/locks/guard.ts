import type { Queryable } from '../../store/db.js';
import { covers, deleteLocksUnder, isBelow, listActiveLocks, type Lock } from '../../store/locks.js';
import { resolvePath } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../errors.js';
import { multistatus, statusResponse } from '../multistatus.js';
import { lockPath, parseTarget, spaceHref, SPACES, type Space } from '../paths.js';
import { davEl, escapeXml } from '../xml/write.js';
import { evaluateIf, needsEtag, parseIfHeader, submittedTokens, type IfList, type IfResourceState } from './ifheader.js';

/** A part of the tree a write changes: one resource (or its membership), or a whole subtree. */
export interface WriteScope {
  /** Lock path ('files/a/b'). */
  path: string;
  /** The whole subtree below `path` is changed (DELETE, MOVE source, overwritten destination). */
  subtree?: boolean;
}

/** The href of a lock's root resource in the user's space. */
export function lockRootHref(req: Pick<DavRequest, 'prefix' | 'user'>, lock: Pick<Lock, 'root' | 'rootIsCollection'>): string {
  const [first, ...segments] = lock.root.split('/');
  const space = SPACES.find((s) => s === first);
  if (!space) throw new Error(`lock root outside the known spaces: ${lock.root}`);
  return spaceHref(req.prefix, space, req.user.name, segments, lock.rootIsCollection);
}

/** The parsed If header of a request, or undefined when it has none (a malformed one is 400). */
export function ifHeaderOf(req: DavRequest): IfList[] | undefined {
  const header = req.koa.get('If');
  return header.trim() === '' ? undefined : parseIfHeader(header);
}

/**
 * Evaluates the If header (RFC 4918 §10.4) and checks that every lock protecting `scopes` has
 * had its token submitted. Throws 412 when the If header is false, 423 when a lock is violated
 * (207 for a DELETE whose locked resources all lie below the target, §9.6.1).
 */
export async function checkPreconditions(req: DavRequest, q: Queryable, scopes: WriteScope[], known?: { locksHeld: boolean }): Promise<void> {
  const lists = ifHeaderOf(req);
  if (!lists && scopes.length === 0) return;
  // `known`: the caller read, under its row locks, whether the user holds any lock (lockMember).
  const locks = known?.locksHeld === false ? [] : await listActiveLocks(q, req.user.id);
  await checkWithLocks(req, q, scopes, locks, lists);
}

/** checkPreconditions over locks the caller has already loaded (LOCK reads them once for both uses). */
export async function checkWithLocks(
  req: DavRequest,
  q: Queryable,
  scopes: readonly WriteScope[],
  locks: readonly Lock[],
  lists: IfList[] | undefined = ifHeaderOf(req),
): Promise<void> {
  if (lists && !(await ifHeaderHolds(req, q, lists, locks))) {
    throw new DavError(412, { message: 'the If header does not match the current state of the resource' });
  }
  if (scopes.length > 0) enforceLocks(req, locks, scopes, submittedTokens(lists ?? []));
}

/** Removes the locks rooted at `path` or below it (the resources are gone or moved). */
export async function removeLocksUnder(tx: Queryable, userId: number, path: string): Promise<void> {
  await deleteLocksUnder(tx, userId, path);
}

/** The tokens of the current locks covering a lock path. */
export function tokensCovering(locks: readonly Lock[], path: string): Set<string> {
  return new Set(locks.filter((l) => covers(l, path)).map((l) => l.token));
}

/**
 * Whether any list of the If header is true. Tagged resources are resolved once each; the
 * database is asked for a resource only when a list compares its entity tag.
 */
export async function ifHeaderHolds(req: DavRequest, q: Queryable, lists: readonly IfList[], locks: readonly Lock[]): Promise<boolean> {
  const states = new Map<string | undefined, IfResourceState | undefined>();
  for (const resource of new Set(lists.map((l) => l.resource))) {
    const target = resource === undefined ? { space: req.space, segments: req.segments } : taggedResource(req, resource);
    if (!target) {
      states.set(resource, undefined);
      continue;
    }
    const path = lockPath(target.space, target.segments);
    let etag: string | undefined;
    if (needsEtag(lists, resource)) {
      // Read again rather than trust req.node: the caller may be inside the transaction that writes.
      etag = (await resolvePath(q, req.user.id, [target.space, ...target.segments])).node?.etag;
    }
    states.set(resource, { etag, lockTokens: tokensCovering(locks, path) });
  }
  return evaluateIf(lists, (resource) => states.get(resource));
}

/**
 * The resource a tagged list names (RFC 4918 §10.4.2 Resource-Tag): an absolute URI on this
 * server or an absolute path, in the requesting user's own tree. Anything else is no resource
 * of ours, and its lists are false.
 */
function taggedResource(req: DavRequest, tag: string): { space: Space; segments: string[] } | undefined {
  let url: URL;
  try {
    url = new URL(tag, `${req.koa.protocol}://${req.koa.host}`);
  } catch {
    return undefined;
  }
  const ours = [req.koa.host, req.deps.config.baseUrl?.host].filter(Boolean);
  if (!ours.includes(url.host)) return undefined;
  try {
    const target = parseTarget(url.pathname, req.prefix);
    if (!target || target.type !== 'space' || target.owner !== req.user.name) return undefined;
    return { space: target.space, segments: target.segments };
  } catch {
    return undefined;
  }
}

interface Violation {
  /** The protected resource. */
  path: string;
  /** The locks covering it, none of whose tokens was submitted. */
  locks: Lock[];
}

/**
 * RFC 4918 §7.4-7.5: a write to a locked resource needs the token of a lock covering it. For a
 * shared lock any one of the covering locks' tokens will do. A subtree scope also protects each
 * resource below it that is the root of a lock.
 */
function enforceLocks(req: DavRequest, locks: readonly Lock[], scopes: readonly WriteScope[], submitted: ReadonlySet<string>): void {
  if (locks.length === 0) return;
  const resources = new Set<string>();
  for (const scope of scopes) {
    resources.add(scope.path);
    if (scope.subtree) for (const lock of locks) if (isBelow(lock.root, scope.path)) resources.add(lock.root);
  }
  const violations: Violation[] = [];
  for (const path of resources) {
    const covering = locks.filter((l) => covers(l, path));
    if (covering.length > 0 && !covering.some((l) => submitted.has(l.token))) violations.push({ path, locks: covering });
  }
  if (violations.length === 0) return;

  const target = lockPath(req.space, req.segments);
  if (req.koa.method === 'DELETE' && violations.every((v) => isBelow(v.path, target))) {
    // §9.6.1: name each locked member; the whole DELETE fails, so nothing is removed.
    const responses = violations.map((v) => {
      const own = v.locks.find((l) => l.root === v.path) ?? v.locks[0]!;
      const href = lockRootHref(req, own);
      return statusResponse(href, 423, davEl('lock-token-submitted', hrefElements([href])));
    });
    throw new DavError(207, { document: multistatus(responses) });
  }
  const hrefs = [...new Set(violations.flatMap((v) => v.locks.map((l) => lockRootHref(req, l))))];
  throw new DavError(423, { condition: 'lock-token-submitted', conditionBody: hrefElements(hrefs) });
}

/** D:href elements, the body of the lock preconditions of RFC 4918 §16. */
export function hrefElements(hrefs: readonly string[]): string {
  return hrefs.map((h) => davEl('href', escapeXml(h))).join('');
}
