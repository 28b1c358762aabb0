import type Koa from 'koa';
import type { AuthUser } from '../auth/authenticate.js';
import type { ServerDeps } from '../dav/context.js';
import { readTextBody } from '../dav/body.js';
import { DavError, STATUS_TEXT } from '../dav/errors.js';
import { isStorageFull } from '../store/blobs.js';
import { isQuotaExceeded } from '../store/db.js';
import { UserExistsError, UserInputError } from '../store/users.js';
import type { WebSession } from '../store/sessions.js';

/** What every API handler receives: the request, the server, and (on signed-in routes) the session. */
export interface WebContext {
  koa: Koa.Context;
  deps: ServerDeps;
  /** BASE_URL's path, '/' by default. */
  prefix: string;
  session: WebSession;
  user: AuthUser;
  /** The path parameters of the route, decoded. */
  params: string[];
}

export type Handler = (web: WebContext) => Promise<void>;

export interface Route {
  method: string;
  /** Matched against the path below `<prefix>api/`; groups become `params`. */
  pattern: RegExp;
  handler: Handler;
  /** Only for users with the admin role. */
  admin?: boolean;
  /** The handler checks the CSRF token itself, from a form field (a plain form POST cannot send headers). */
  csrfInForm?: boolean;
}

/** Largest JSON body an API request may send. */
const MAX_JSON_BYTES = 64 * 1024;

/** The JSON object of a request body; 400 when it is not one, 415 when it is not JSON. */
export async function readJson(koa: Koa.Context): Promise<Record<string, unknown>> {
  if (!koa.is('application/json')) throw new DavError(415, { message: 'send JSON (Content-Type: application/json)' });
  const text = await readTextBody(koa, MAX_JSON_BYTES);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DavError(400, { message: 'the body is not valid JSON' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DavError(400, { message: 'the body must be a JSON object' });
  return value as Record<string, unknown>;
}

/** A string field of a JSON body; 400 naming the field when it is missing or not a string. */
export function stringField(body: Record<string, unknown>, name: string, optional: true): string | undefined;
export function stringField(body: Record<string, unknown>, name: string): string;
export function stringField(body: Record<string, unknown>, name: string, optional = false): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (optional) return undefined;
    throw new DavError(400, { message: `"${name}" is required` });
  }
  if (typeof value !== 'string') throw new DavError(400, { message: `"${name}" must be a string` });
  return value;
}

/** A path parameter that must be a positive whole number (an id). */
export function idParam(web: WebContext, index = 0): number {
  const id = Number(web.params[index]);
  if (!Number.isSafeInteger(id) || id <= 0) throw new DavError(404);
  return id;
}

export function sendJson(koa: Koa.Context, value: unknown, status = 200): void {
  koa.status = status;
  koa.type = 'application/json; charset=utf-8';
  koa.body = JSON.stringify(value);
}

/** `Content-Disposition: attachment` with the name in both forms (RFC 6266 §4.3, RFC 8187). */
export function attachment(koa: Koa.Context, fileName: string): void {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  koa.set('Content-Disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`);
}

/** Errors of the API as JSON `{ error }` with the right status; unknown errors a plain 500 (logged, no stack sent). */
export function jsonErrors(deps: ServerDeps): Koa.Middleware {
  return async (koa, next) => {
    try {
      await next();
    } catch (error) {
      let status: number;
      let message: string | undefined;
      if (error instanceof DavError) {
        status = error.status;
        message = error.options.message ?? (error.options.condition ? error.options.condition.replace(/-/g, ' ') : undefined);
        for (const [name, value] of Object.entries(error.options.headers ?? {})) koa.set(name, value);
        // A DELETE stopped by a lock below the target answers with a whole multistatus document.
        if (error.options.document !== undefined && status === 207) {
          status = 423;
          message = 'something inside is locked by a client';
        } else if (status === 423 && !error.options.message) message = 'locked by a client (being edited elsewhere?)';
      } else if (error instanceof UserExistsError) {
        status = 409;
        message = error.message;
      } else if (error instanceof UserInputError) {
        status = 400;
        message = error.message;
      } else if (isQuotaExceeded(error)) {
        status = 507;
        message = 'your storage quota is full';
      } else if (isStorageFull(error)) {
        status = 507;
        message = "the server's disk is full";
      } else {
        deps.log.error('unhandled error', { method: koa.method, path: koa.path, error: (error as Error).stack ?? String(error) });
        status = 500;
      }
      if (koa.headerSent) return;
      sendJson(koa, { error: message ?? STATUS_TEXT[status] ?? 'Error' }, status);
    }
  };
}
