import type { DavRequest } from '../dav/context.js';
import { DavError } from '../dav/errors.js';
import type { Space } from '../dav/paths.js';
import { resolvePath } from '../store/nodes.js';
import type { WebContext } from './http.js';

/**
 * The web pages change the tree through the DAV methods themselves (PUT, DELETE, MOVE, MKCOL),
 * so locks, quota, size limits and index upkeep follow exactly one set of rules. This builds
 * the DavRequest those methods take for a path in one of the signed-in user's spaces.
 */
export async function davRequest(web: WebContext, space: Space, segments: string[]): Promise<DavRequest> {
  const { node, parent } = await resolvePath(web.deps.db, web.user.id, [space, ...segments]);
  return { koa: web.koa, deps: web.deps, user: web.user, space, segments, trailingSlash: false, node, parent, prefix: web.prefix };
}

/**
 * A path below a space root as the pages send it ('Photos/2024/a.jpg'): split on '/', each name
 * refused when it could climb out or is not storable — the same rules as dav/paths.ts.
 */
export function pathSegments(raw: string | undefined): string[] {
  if (raw === undefined || raw === '' || raw === '/') return [];
  const segments = raw.replace(/^\/+|\/+$/g, '').split('/');
  for (const name of segments) {
    if (name === '' || name === '.' || name === '..') throw new DavError(400, { message: 'invalid path' });
    if (name.includes('\0')) throw new DavError(400, { message: 'NUL is not allowed in names' });
  }
  return segments;
}
