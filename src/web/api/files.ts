import { DavError } from '../../dav/errors.js';
import { transfer } from '../../dav/methods/copymove.js';
import { del } from '../../dav/methods/delete.js';
import { get } from '../../dav/methods/get.js';
import { collectionFactories, makeCollection } from '../../dav/methods/mkcol.js';
import { put } from '../../dav/methods/put.js';
import { limitUploads } from '../../dav/upload-limit.js';
import { DAV } from '../../dav/xml/names.js';
import { isCollection, listChildren } from '../../store/nodes.js';
import { davRequest, pathSegments } from '../dav-bridge.js';
import { attachment, readJson, sendJson, stringField, type Route, type WebContext } from '../http.js';

/** The `path` query parameter as names below the files root. */
function queryPath(web: WebContext): string[] {
  const raw = web.koa.query.path;
  if (Array.isArray(raw)) throw new DavError(400, { message: 'one path only' });
  return pathSegments(raw);
}

/**
 * Files: every change goes through the DAV method that makes it (PUT streams the body to the
 * blob store; DELETE, MOVE and MKCOL check locks), so the pages follow the same rules as clients.
 */
export const fileRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^files$/,
    async handler(web) {
      const segments = queryPath(web);
      const req = await davRequest(web, 'files', segments);
      if (!req.node || !isCollection(req.node)) throw new DavError(404, { message: 'no such folder' });
      const entries = (await listChildren(web.deps.db, web.user.id, req.node.id)).map((n) => ({
        name: n.name,
        folder: isCollection(n),
        size: n.size,
        contentType: n.contentType,
        modified: n.modifiedAt,
      }));
      sendJson(web.koa, { path: segments, entries });
    },
  },
  {
    method: 'PUT',
    pattern: /^files\/content$/,
    async handler(web) {
      const segments = queryPath(web);
      if (segments.length === 0) throw new DavError(400, { message: 'name the file' });
      // The same per-user cap as uploads over DAV (MAX_UPLOADS_PER_USER).
      await limitUploads(put)(await davRequest(web, 'files', segments));
      sendJson(web.koa, { created: web.koa.status === 201 }, web.koa.status === 201 ? 201 : 200);
    },
  },
  {
    method: 'GET',
    pattern: /^files\/content$/,
    async handler(web) {
      const segments = queryPath(web);
      const req = await davRequest(web, 'files', segments);
      if (!req.node || isCollection(req.node)) throw new DavError(404, { message: 'no such file' });
      await get(req);
      // Always a download, never a page of this origin: a stored HTML file must not run here.
      attachment(web.koa, segments.at(-1)!);
      web.koa.set('Content-Security-Policy', "sandbox; default-src 'none'");
    },
  },
  {
    method: 'POST',
    pattern: /^files\/folder$/,
    async handler(web) {
      const segments = pathSegments(stringField(await readJson(web.koa), 'path'));
      if (segments.length === 0) throw new DavError(400, { message: 'name the folder' });
      const req = await davRequest(web, 'files', segments);
      if (req.node) throw new DavError(409, { message: 'something with that name is already there' });
      if (!req.parent || req.parent.kind !== 'collection') throw new DavError(409, { message: 'the parent folder does not exist' });
      await makeCollection(req, collectionFactories.get('collection')!([]), [], { ns: DAV, local: 'mkcol-response' });
      sendJson(web.koa, {}, 201);
    },
  },
  {
    // Rename and move: a MOVE that never overwrites.
    method: 'POST',
    pattern: /^files\/move$/,
    async handler(web) {
      const body = await readJson(web.koa);
      const from = pathSegments(stringField(body, 'from'));
      const to = pathSegments(stringField(body, 'to'));
      if (from.length === 0 || to.length === 0) throw new DavError(400, { message: 'name what to move and where' });
      try {
        await transfer(await davRequest(web, 'files', from), true, { to, overwrite: false });
      } catch (error) {
        if (error instanceof DavError && error.status === 412) throw new DavError(409, { message: 'something with that name is already there' });
        throw error;
      }
      sendJson(web.koa, {});
    },
  },
  {
    method: 'DELETE',
    pattern: /^files$/,
    async handler(web) {
      const segments = queryPath(web);
      if (segments.length === 0) throw new DavError(403, { message: 'the files root cannot be deleted' });
      await del(await davRequest(web, 'files', segments));
      web.koa.status = 204;
    },
  },
];
