import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { authenticate, type AuthUser } from './auth/authenticate.js';
import type { ServerDeps } from './dav/context.js';
import { dispatch, targetOf } from './dav/dispatch.js';
import { DavError } from './dav/errors.js';
import { answerOptions } from './dav/methods/options.js';
import { VIRTUAL_METHODS } from './dav/virtual.js';
import { wellKnown } from './dav/wellknown.js';
import './dav/properties/webdav.js';
import './dav/locks/properties.js';
import './dav/properties/principal.js';
import './dav/sync/collection.js';
import './dav/caldav/index.js';
import './dav/carddav/index.js';
import type { Logger } from './log.js';

/** The path every URL of this server starts with: BASE_URL's path, or '/'. */
export function pathPrefix(deps: ServerDeps): string {
  return deps.config.baseUrl?.pathname ?? '/';
}

/**
 * Middleware in order: access log → error boundary → DAV (authenticated) → web pages.
 * The process keeps no state between requests beyond caches, so several can share one database.
 */
export function createApp(deps: ServerDeps): Koa {
  const app = new Koa();
  // Behind a reverse proxy (BASE_URL set), trust its X-Forwarded-* headers for protocol, host and client address.
  app.proxy = Boolean(deps.config.baseUrl);
  // Only the proxy's own entry of X-Forwarded-For counts: the client can forge the others.
  app.maxIpsCount = 1;
  const prefix = pathPrefix(deps);
  const auth = authenticate({ db: deps.db, log: deps.log });

  // Errors Koa sees after a response has started: a client going away mid-body is routine.
  app.on('error', (error: NodeJS.ErrnoException) => {
    const routine = error.code === 'ERR_STREAM_PREMATURE_CLOSE' || error.code === 'ECONNRESET' || error.code === 'EPIPE';
    deps.log[routine ? 'debug' : 'error']('response failed', { error: error.message });
  });
  app.use(accessLog(deps.log));
  app.use(errorBoundary(deps.log));
  app.use(wellKnown(deps, prefix, auth));
  app.use(async (koa, next) => {
    const target = targetOf(koa, prefix);
    if (!target) return next();
    if (target.type === 'virtual' && target.segments.length === 0 && (koa.method === 'GET' || koa.method === 'HEAD')) return next();
    // Windows' Mini-Redirector probes OPTIONS before it sends credentials.
    if (koa.method === 'OPTIONS' && target.type === 'virtual') return answerOptions(koa, VIRTUAL_METHODS);
    await auth(koa, () => dispatch(koa, deps, koa.state.user as AuthUser, target, prefix));
  });
  app.use(async (koa) => {
    if (koa.path !== '/' && koa.path !== prefix) throw new DavError(404);
    koa.type = 'text/plain; charset=utf-8';
    koa.body = 'Davenport is running. Point your WebDAV, CalDAV or CardDAV client at this address.\n';
  });
  return app;
}

function accessLog(log: Logger): Koa.Middleware {
  return async (koa, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const user = (koa.state.user as AuthUser | undefined)?.name;
      log.info('request', { method: koa.method, path: koa.path, status: koa.status, ms: Math.round(performance.now() - started), user });
    }
  };
}

/** Turns every error into a response: DavError as itself, anything else a plain 500 (logged, no stack to the client). */
function errorBoundary(log: Logger): Koa.Middleware {
  return async (koa, next) => {
    try {
      await next();
    } catch (error) {
      let dav: DavError;
      if (error instanceof DavError) dav = error;
      // The store's quota trigger (SQLSTATE 53100), whichever write ran into it.
      else if ((error as { code?: string }).code === '53100') dav = new DavError(507, { message: 'quota exceeded' });
      else if (isHttpError(error)) dav = new DavError(error.status, { message: error.expose ? error.message : undefined });
      else {
        log.error('unhandled error', { method: koa.method, path: koa.path, error: (error as Error).stack ?? String(error) });
        dav = new DavError(500);
      }
      const { type, text } = dav.body();
      koa.status = dav.status;
      for (const [name, value] of Object.entries(dav.options.headers ?? {})) koa.set(name, value);
      koa.type = type;
      koa.body = koa.method === 'HEAD' ? null : text;
      if (koa.method === 'HEAD') koa.length = Buffer.byteLength(text);
    }
  };
}

function isHttpError(error: unknown): error is { status: number; expose: boolean; message: string } {
  return typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number';
}

export interface RunningServer {
  server: http.Server;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  close(): Promise<void>;
}

/** Listens on the configured host and port (0: any free port). */
export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const app = createApp(deps);
  const server = http.createServer(app.callback());
  // A slow client may not hold a connection by dribbling headers; large uploads are bounded by
  // inactivity rather than total time.
  server.headersTimeout = 30_000;
  server.requestTimeout = 0;
  server.timeout = 120_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.port, deps.config.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
