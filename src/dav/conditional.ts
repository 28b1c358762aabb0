import type Koa from 'koa';
import type { ExpectedMember, Node } from '../store/nodes.js';
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

/**
 * The precondition of a write as writeMember checks it in its own statements: none, If-None-Match: *
 * (create only, RFC 9110 §13.1.2) or If-Match with one strong tag (replace that version only,
 * §13.1.1), as calendar and contact clients send them. Undefined for any other — lock tokens in If
 * (RFC 4918 §10.4), If-Unmodified-Since, tag lists, weak tags — which the general path checks with
 * the rows locked. If-Modified-Since concerns GET and HEAD only (§13.1.3).
 */
export function expectedMember(koa: Koa.Context): ExpectedMember | undefined {
  if (koa.get('If') || koa.get('If-Unmodified-Since')) return undefined;
  const ifMatch = koa.get('If-Match');
  const ifNoneMatch = koa.get('If-None-Match');
  if (ifMatch && ifNoneMatch) return undefined;
  if (ifNoneMatch) return ifNoneMatch.trim() === '*' ? 'absent' : undefined;
  if (!ifMatch) return 'any';
  const tags = tagList(ifMatch);
  return tags.length === 1 && tags[0]!.startsWith('"') ? { etag: tags[0]! } : undefined;
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
