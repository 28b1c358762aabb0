import { checkLogin, forgetCredentials } from '../../auth/authenticate.js';
import { DavError } from '../../dav/errors.js';
import { listAppPasswords } from '../../store/credentials.js';
import { deleteUserSessions } from '../../store/sessions.js';
import { getUser, setPassword } from '../../store/users.js';
import { accountArchive } from '../archive.js';
import { listCollections } from '../collections.js';
import { attachment, readJson, sendJson, stringField, type Route } from '../http.js';

export const accountRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^overview$/,
    async handler({ koa, deps, prefix, user }) {
      const account = await getUser(deps.db, user.id);
      if (!account) throw new DavError(401, { message: 'not signed in' });
      const [calendars, addressBooks, devices] = await Promise.all([
        listCollections(deps, prefix, user, 'calendars'),
        listCollections(deps, prefix, user, 'addressbooks'),
        listAppPasswords(deps.db, user.id),
      ]);
      sendJson(koa, {
        user: { name: account.name, email: account.email, isAdmin: account.isAdmin, usedBytes: account.usedBytes, quotaBytes: account.quotaBytes },
        calendars,
        addressBooks,
        devices: devices.length,
      });
    },
  },
  {
    // The current password proves it is the owner at the keyboard; throttled like a sign-in.
    method: 'POST',
    pattern: /^account\/password$/,
    async handler({ koa, deps, user, session }) {
      const body = await readJson(koa);
      const current = stringField(body, 'current');
      const password = stringField(body, 'password');
      const check = await checkLogin({ db: deps.db, log: deps.log }, { userName: user.name, password: current }, koa.ip || 'unknown', { appPasswords: false });
      if (check.kind === 'throttled') throw new DavError(429, { message: `too many failed attempts; try again in ${check.retryAfterSeconds} seconds` });
      if (check.kind === 'failed') throw new DavError(403, { message: 'the current password is wrong' });
      await setPassword(deps.db, user.id, password);
      forgetCredentials(user.id);
      // Other browsers signed in with the old password sign in again; this one stays.
      await deleteUserSessions(deps.db, user.id, session.idHash);
      koa.status = 204;
    },
  },
  {
    method: 'GET',
    pattern: /^account\/export$/,
    async handler({ koa, deps, user }) {
      const day = new Date().toISOString().slice(0, 10);
      koa.type = 'application/zip';
      attachment(koa, `davenport-${user.name}-${day}.zip`);
      koa.body = await accountArchive(deps, user);
    },
  },
];
