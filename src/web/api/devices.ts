import { forgetCredentials } from '../../auth/authenticate.js';
import { readTextBody } from '../../dav/body.js';
import { DavError } from '../../dav/errors.js';
import { createAppPassword, findAppPassword, listAppPasswords, revokeAppPassword } from '../../store/credentials.js';
import { attachment, idParam, readJson, sendJson, stringField, type Route } from '../http.js';
import { mobileConfig } from '../mobileconfig.js';
import { checkCsrf } from '../session.js';
import { deviceSetup } from '../setup.js';

export const deviceRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^devices$/,
    async handler({ koa, deps, prefix, user }) {
      const devices = await listAppPasswords(deps.db, user.id);
      sendJson(koa, { devices, setup: deviceSetup(koa, deps, prefix, user.name) });
    },
  },
  {
    // A device gets its own app password, shown this once with what to type into the device.
    method: 'POST',
    pattern: /^devices$/,
    async handler({ koa, deps, prefix, user }) {
      const name = stringField(await readJson(koa), 'name');
      const created = await createAppPassword(deps.db, user.id, name);
      sendJson(koa, { device: created, setup: deviceSetup(koa, deps, prefix, user.name) }, 201);
    },
  },
  {
    method: 'DELETE',
    pattern: /^devices\/(\d+)$/,
    async handler(web) {
      const revoked = await revokeAppPassword(web.deps.db, web.user.id, idParam(web));
      if (!revoked) throw new DavError(404, { message: 'no such device' });
      // Cached logins with it end now, not in a minute.
      forgetCredentials(web.user.id);
      web.koa.status = 204;
    },
  },
  {
    // A form POST (a download the phone's browser can open as a profile): the page sends the
    // password it was just shown, which must be this device's; nothing secret is kept to make it.
    method: 'POST',
    pattern: /^devices\/(\d+)\/mobileconfig$/,
    csrfInForm: true,
    async handler(web) {
      const { koa, deps, prefix, user, session } = web;
      if (!koa.is('application/x-www-form-urlencoded')) throw new DavError(415, { message: 'send a form' });
      const form = new URLSearchParams(await readTextBody(koa, 4096));
      checkCsrf(koa, session, form.get('csrf') ?? undefined);
      const id = idParam(web);
      const password = form.get('password') ?? '';
      const device = (await listAppPasswords(deps.db, user.id)).find((d) => d.id === id);
      if (!device || (await findAppPassword(deps.db, user.id, password)) !== id) throw new DavError(403, { message: 'not this device’s password' });
      const setup = deviceSetup(koa, deps, prefix, user.name);
      koa.type = 'application/x-apple-aspen-config';
      attachment(koa, `davenport-${user.name}-${device.id}.mobileconfig`);
      koa.body = mobileConfig(setup, { id, name: device.name, password });
    },
  },
];
