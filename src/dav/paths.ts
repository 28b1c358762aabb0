import { SPACE_ROOTS, type SpaceRoot } from '../store/provision.js';
import { DavError } from './errors.js';

/** The spaces of the URL layout, /dav/<space>/<user>/…: one tree root per user each. */
export const SPACES = SPACE_ROOTS;
export type Space = SpaceRoot;

/**
 * A request target: a virtual collection above the users' homes, a user's principal
 * (/dav/principals/<user>/), or a path in one user's space.
 */
export type Target =
  | { type: 'virtual'; /** e.g. [] for /, ['dav'], ['dav', 'files'] */ segments: string[] }
  | { type: 'principal'; owner: string }
  | { type: 'space'; space: Space; owner: string; /** decoded names below the user's home */ segments: string[]; trailingSlash: boolean };

/**
 * Decodes a request path into a target. Every hostile form is refused here, once: a segment
 * that decodes to '.', '..', or contains '/', NUL or invalid UTF-8 is a 400, so nothing
 * downstream can climb out of a user's tree. `prefix` is BASE_URL's path ('/' by default).
 */
export function parseTarget(rawPath: string, prefix: string): Target | undefined {
  let path = rawPath;
  if (prefix !== '/' && (path + '/').startsWith(prefix)) path = '/' + path.slice(prefix.length);
  if (!path.startsWith('/')) throw new DavError(400, { message: 'request path must be absolute' });
  const trailingSlash = path.length > 1 && path.endsWith('/');
  const raw = path.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));
  const segments = raw.map(decodeSegment);
  if (segments.some((s) => s === '')) throw new DavError(400, { message: 'empty path segment' });

  if (segments.length === 0) return { type: 'virtual', segments: [] };
  if (segments[0] !== 'dav') return undefined;
  if (segments.length === 1) return { type: 'virtual', segments };
  if (segments[1] === 'principals') {
    if (segments.length === 2) return { type: 'virtual', segments };
    return segments.length === 3 ? { type: 'principal', owner: segments[2]! } : undefined;
  }
  const space = SPACES.find((s) => s === segments[1]);
  if (!space) return undefined;
  if (segments.length === 2) return { type: 'virtual', segments };
  return { type: 'space', space, owner: segments[2]!, segments: segments.slice(3), trailingSlash };
}

function decodeSegment(raw: string): string {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new DavError(400, { message: 'path is not valid percent-encoded UTF-8' });
  }
  if (name === '.' || name === '..') throw new DavError(400, { message: 'dot segments are not allowed in paths' });
  if (name.includes('/')) throw new DavError(400, { message: 'encoded slashes are not allowed in names' });
  if (name.includes('\0')) throw new DavError(400, { message: 'NUL is not allowed in names' });
  return name;
}

/**
 * Percent-encodes one name for an href (RFC 3986 §2.3 unreserved characters stay as they are).
 * A name of unreserved characters only, the usual one, is returned as it is without the two
 * passes: listings and reports encode one per member.
 */
export function encodeSegment(name: string): string {
  for (let i = 0; i < name.length; i++) {
    if (!isUnreserved(name.charCodeAt(i))) return encodeURIComponent(name).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  }
  return name;
}

/** ALPHA / DIGIT / "-" / "." / "_" / "~" */
function isUnreserved(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e;
}

/** The href (absolute path) of a resource in a user's space; collections end with '/'. */
export function spaceHref(prefix: string, space: Space, owner: string, segments: readonly string[], collection: boolean): string {
  const tail = segments.map(encodeSegment).join('/');
  const base = `${prefix}dav/${space}/${encodeSegment(owner)}/`;
  if (tail === '') return base;
  return base + tail + (collection ? '/' : '');
}

/** The path used as a lock root: the space followed by the names ('files/a/b'). */
export function lockPath(space: Space, segments: readonly string[]): string {
  return [space, ...segments].join('/');
}

/** The href of a user's principal (RFC 3744 §2, RFC 5397). */
export function principalHref(prefix: string, owner: string): string {
  return `${prefix}dav/principals/${encodeSegment(owner)}/`;
}
