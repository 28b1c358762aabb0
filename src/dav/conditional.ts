import type Koa from 'koa';
import type { Node } from '../store/nodes.js';
import { DavError } from './errors.js';

/** Splits an entity-tag list header (RFC 9110 §8.8.3); '*' stays as '*'. */
function tagList(header: string): string[] {
  return header.match(/\*|(?:W\/)?"[^"]*"/g) ?? [];
}

function matchesStrong(tags: string[], etag: string): boolean {
  return tags.some((t) => t === '*' || t === etag);
}

function matchesWeak(tags: string[], etag: string): boolean {
  const bare = (t: string) => t.replace(/^W\//, '');
  return tags.some((t) => t === '*' || bare(t) === bare(etag));
}

/** Conditional headers a write must check against the resource's current state. */
const PRECONDITION_HEADERS = ['If', 'If-Match', 'If-None-Match', 'If-Unmodified-Since', 'If-Modified-Since'];

/** Whether a request makes its write depend on the resource's state or on WebDAV lock tokens. */
export function hasPreconditions(koa: Koa.Context): boolean {
  return PRECONDITION_HEADERS.some((name) => koa.get(name) !== '');
}

/**
 * Evaluates If-Match, If-None-Match, If-Unmodified-Since and If-Modified-Since in the order
 * RFC 9110 §13.2.2 prescribes. `safe` is true for GET/HEAD, where a failed If-None-Match or
 * If-Modified-Since means 304 instead of 412. Returns 304 when the client's copy is current.
 */
export function evaluateConditions(koa: Koa.Context, node: Node | undefined, safe: boolean): 304 | undefined {
  const ifMatch = koa.get('If-Match');
  const ifNoneMatch = koa.get('If-None-Match');
  const ifUnmodifiedSince = koa.get('If-Unmodified-Since');
  const ifModifiedSince = koa.get('If-Modified-Since');
  const modified = node ? Math.floor(node.modifiedAt.getTime() / 1000) * 1000 : undefined;

  if (ifMatch) {
    if (!node || !matchesStrong(tagList(ifMatch), node.etag)) throw new DavError(412, { message: 'If-Match does not match' });
  } else if (ifUnmodifiedSince && node) {
    const since = Date.parse(ifUnmodifiedSince);
    if (!Number.isNaN(since) && modified! > since) throw new DavError(412, { message: 'modified since If-Unmodified-Since' });
  }
  if (ifNoneMatch) {
    if (node && matchesWeak(tagList(ifNoneMatch), node.etag)) {
      if (safe) return 304;
      throw new DavError(412, { message: 'If-None-Match matches' });
    }
  } else if (ifModifiedSince && safe && node) {
    const since = Date.parse(ifModifiedSince);
    if (!Number.isNaN(since) && modified! <= since) return 304;
  }
  return undefined;
}
