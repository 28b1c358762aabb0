import { covers, listActiveLocks, type Lock } from '../../store/locks.js';
import type { DavRequest } from '../context.js';
import { properties, type PropertyScope } from '../properties/registry.js';
import { DAV } from '../xml/names.js';
import { davEl, escapeXml } from '../xml/write.js';
import { lockRootHref } from './guard.js';

/** One DAV:activelock (RFC 4918 §14.1), as lockdiscovery and the LOCK response write it. */
export function activeLockXml(req: Pick<DavRequest, 'prefix' | 'user'>, lock: Lock): string {
  return davEl(
    'activelock',
    davEl('locktype', davEl('write')) +
      davEl('lockscope', davEl(lock.exclusive ? 'exclusive' : 'shared')) +
      davEl('depth', lock.depthInfinity ? 'infinity' : '0') +
      // The owner element as the client sent it, namespaces declared on itself.
      (lock.ownerXml ?? '') +
      davEl('timeout', `Second-${lock.remainingSeconds}`) +
      davEl('locktoken', davEl('href', escapeXml(lock.token))) +
      davEl('lockroot', davEl('href', escapeXml(lockRootHref(req, lock)))),
  );
}

/** All the user's active locks, loaded once for every target of a response. */
function locksOf(scope: PropertyScope): Promise<Lock[]> {
  return scope.once('locks', () => listActiveLocks(scope.q, scope.userId));
}

// RFC 4918 §15.10: write locks, exclusive or shared.
const SUPPORTED_LOCKS = ['exclusive', 'shared']
  .map((s) => davEl('lockentry', davEl('lockscope', davEl(s)) + davEl('locktype', davEl('write'))))
  .join('');

properties.register(
  {
    // RFC 4918 §15.8: the locks covering the resource, whether rooted at it or above it.
    ns: DAV,
    local: 'lockdiscovery',
    inAllprop: true,
    async get(target, scope) {
      if (!target.node || target.lockPath === undefined) return undefined;
      const path = target.lockPath;
      return (await locksOf(scope))
        .filter((l) => covers(l, path))
        .map((l) => activeLockXml(scope.req, l))
        .join('');
    },
  },
  {
    ns: DAV,
    local: 'supportedlock',
    inAllprop: true,
    get: (target) => (target.node && target.lockPath !== undefined ? SUPPORTED_LOCKS : undefined),
  },
);
