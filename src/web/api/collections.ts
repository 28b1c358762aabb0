import { del } from '../../dav/methods/delete.js';
import { readTextBody } from '../../dav/body.js';
import { DavError } from '../../dav/errors.js';
import type { CollectionSpace } from '../api-types.js';
import { createCollection, findCollection, listCollections, updateCollection } from '../collections.js';
import { davRequest } from '../dav-bridge.js';
import { attachment, idParam, readJson, sendJson, stringField, type Route } from '../http.js';
import { exportCollection, importObjects } from '../objects.js';

/** Largest file an import reads (its entries are validated one by one, then stored in batches). */
const MAX_IMPORT_BYTES = 64 * 1024 * 1024;

/** The same routes for calendars and address books: list, create, rename/recolour, delete, import, export. */
function routesFor(space: CollectionSpace, base: string): Route[] {
  const one = new RegExp(`^${base}/(\\d+)$`);
  return [
    {
      method: 'GET',
      pattern: new RegExp(`^${base}$`),
      async handler({ koa, deps, prefix, user }) {
        sendJson(koa, { collections: await listCollections(deps, prefix, user, space) });
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${base}$`),
      async handler(web) {
        const body = await readJson(web.koa);
        const color = stringField(body, 'color', true);
        const id = await createCollection(web, space, { displayName: stringField(body, 'displayName'), ...(color !== undefined && { color }) });
        sendJson(web.koa, { id }, 201);
      },
    },
    {
      method: 'PATCH',
      pattern: one,
      async handler(web) {
        const body = await readJson(web.koa);
        const displayName = stringField(body, 'displayName', true);
        const color = body.color === null ? null : stringField(body, 'color', true);
        await updateCollection(web, space, idParam(web), { ...(displayName !== undefined && { displayName }), ...(color !== undefined && { color }) });
        web.koa.status = 204;
      },
    },
    {
      // Through the DAV DELETE itself: the same lock checks, and the same clean-up.
      method: 'DELETE',
      pattern: one,
      async handler(web) {
        const node = await findCollection(web.deps, web.user.id, space, idParam(web));
        await del(await davRequest(web, space, [node.name]));
        web.koa.status = 204;
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${base}/(\\d+)/import$`),
      async handler(web) {
        const node = await findCollection(web.deps, web.user.id, space, idParam(web));
        const text = await readTextBody(web.koa, MAX_IMPORT_BYTES);
        if (text.trim() === '') throw new DavError(400, { message: 'the file is empty' });
        sendJson(web.koa, await importObjects(web, space, node, text));
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${base}/(\\d+)/export$`),
      async handler(web) {
        const id = idParam(web);
        const node = await findCollection(web.deps, web.user.id, space, id);
        const info = (await listCollections(web.deps, web.prefix, web.user, space)).find((c) => c.id === id);
        const displayName = info?.displayName ?? node.name;
        web.koa.type = space === 'calendars' ? 'text/calendar; charset=utf-8' : 'text/vcard; charset=utf-8';
        attachment(web.koa, `${displayName.replace(/[/\\:*?"<>|]/g, '_')}.${space === 'calendars' ? 'ics' : 'vcf'}`);
        web.koa.body = exportCollection(web.deps.db, space, node, displayName);
      },
    },
  ];
}

export const collectionRoutes: Route[] = [...routesFor('calendars', 'calendars'), ...routesFor('addressbooks', 'addressbooks')];
