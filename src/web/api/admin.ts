import { forgetCredentials } from '../../auth/authenticate.js';
import { DavError } from '../../dav/errors.js';
import { deleteUserSessions } from '../../store/sessions.js';
import { createUser, deleteUser, listUsers, setPassword, setQuota } from '../../store/users.js';
import { idParam, readJson, sendJson, stringField, type Route } from '../http.js';

/** Administration (the admin role only): the same rules as `npm run user`, through store/users.ts. */
export const adminRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^admin\/users$/,
    admin: true,
    async handler({ koa, deps }) {
      const users = await listUsers(deps.db);
      sendJson(koa, { users: users.map(({ id, name, email, isAdmin, quotaBytes, usedBytes, createdAt }) => ({ id, name, email, isAdmin, quotaBytes, usedBytes, createdAt })) });
    },
  },
  {
    method: 'POST',
    pattern: /^admin\/users$/,
    admin: true,
    async handler({ koa, deps }) {
      const body = await readJson(koa);
      const email = stringField(body, 'email', true)?.trim();
      const user = await createUser(deps.db, {
        name: stringField(body, 'name').trim(),
        password: stringField(body, 'password'),
        email: email ? email : null,
        isAdmin: body.isAdmin === true,
      });
      sendJson(koa, { id: user.id }, 201);
    },
  },
  {
    method: 'DELETE',
    pattern: /^admin\/users\/(\d+)$/,
    admin: true,
    async handler(web) {
      const id = idParam(web);
      if (id === web.user.id) throw new DavError(409, { message: 'you cannot delete yourself' });
      if (!(await deleteUser(web.deps.db, web.deps.blobs, id))) throw new DavError(404, { message: 'no such user' });
      forgetCredentials(id);
      web.koa.status = 204;
    },
  },
  {
    method: 'POST',
    pattern: /^admin\/users\/(\d+)\/password$/,
    admin: true,
    async handler(web) {
      const id = idParam(web);
      if (!(await setPassword(web.deps.db, id, stringField(await readJson(web.koa), 'password')))) throw new DavError(404, { message: 'no such user' });
      forgetCredentials(id);
      await deleteUserSessions(web.deps.db, id, id === web.user.id ? web.session.idHash : undefined);
      web.koa.status = 204;
    },
  },
  {
    method: 'PUT',
    pattern: /^admin\/users\/(\d+)\/quota$/,
    admin: true,
    async handler(web) {
      const body = await readJson(web.koa);
      const bytes = body.bytes;
      if (bytes !== null && typeof bytes !== 'number') throw new DavError(400, { message: '"bytes" must be a number or null' });
      if (!(await setQuota(web.deps.db, idParam(web), bytes))) throw new DavError(404, { message: 'no such user' });
      web.koa.status = 204;
    },
  },
];
