import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { authenticate, type AuthUser } from './auth/authenticate.js';
import type { ServerDeps } from './dav/context.js';
import { dispatch, targetOf } from './dav/dispatch.js';
import { DavError, insufficientStorage, quotaExceeded } from './dav/errors.js';
import { answerOptions } from './dav/methods/options.js';
import { virtualMethods } from './dav/virtual.js';
import { wellKnown } from './dav/wellknown.js';
import './dav/properties/webdav.js';
import './dav/locks/properties.js';
import './dav/properties/principal.js';
import './dav/sync/collection.js';
import './dav/reports/expand-property.js';
import './dav/reports/principal-search.js';
import './dav/caldav/index.js';
import './dav/carddav/index.js';
import type { Logger } from './log.js';
import { webPages } from './web/index.js';
import { healthRoute, StoreProbe } from './ops/health.js';
import { HttpMetrics, metricsRoute } from './ops/metrics.js';
import { loadTls, strictTransportSecurity, type TlsMaterial } from './ops/tls.js';
import { isStorageFull } from './store/blobs.js';
import { isDatabaseUnavailable, isQuotaExceeded } from './store/db.js';

/** The path every URL of this server starts with: BASE_URL's path, or '/'. */
export function pathPrefix(deps: ServerDeps): string {
  return deps.config.baseUrl?.pathname ?? '/';
}

/**
 * Middleware in order: access log (and metrics) → HSTS → error boundary → /healthz, /metrics →
 * DAV (authenticated) → web pages.
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
  const metrics = new HttpMetrics();
  // Operations endpoints answer at the root (where a probe on the host looks) and under BASE_URL's path.
  const opsPaths = (name: string) => [...new Set([`/${name}`, `${prefix}${name}`])];
  app.use(accessLog(deps.log, metrics));
  app.use(strictTransportSecurity(deps.config, `${prefix}dav/`));
  app.use(closeUnreadBodies());
  app.use(errorBoundary(deps.log));
  app.use(healthRoute(opsPaths('healthz'), new StoreProbe(deps.db)));
  app.use(metricsRoute(opsPaths('metrics'), deps.config.metricsToken, metrics, deps.db));
  app.use(wellKnown(deps, prefix, auth));
  app.use(async (koa, next) => {
    const target = targetOf(koa, prefix);
    if (!target) return next();
    if (target.type === 'virtual' && target.segments.length === 0 && (koa.method === 'GET' || koa.method === 'HEAD')) return next();
    // Windows' Mini-Redirector probes OPTIONS before it sends credentials.
    if (koa.method === 'OPTIONS' && target.type === 'virtual') return answerOptions(koa, virtualMethods(target.segments));
    await auth(koa, () => dispatch(koa, deps, koa.state.user as AuthUser, target, prefix));
  });
  // The web pages at the prefix and their JSON API under api/ (cookie sessions, not Basic).
  app.use(webPages(deps, prefix));
  return app;
}

function accessLog(log: Logger, metrics: HttpMetrics): Koa.Middleware {
  return async (koa, next) => {
    const started = performance.now();
    // For diagnosing clients; the logger redacts Authorization and Cookie.
    log.debug('request headers', { method: koa.method, path: koa.path, headers: koa.headers });
    try {
      await next();
    } finally {
      const elapsed = performance.now() - started;
      metrics.observe(koa.method, koa.status, elapsed / 1000);
      const user = (koa.state.user as AuthUser | undefined)?.name;
      // Probes and scrapes arrive every few seconds: at info level they would drown the log.
      const routine = koa.status < 400 && (koa.path.endsWith('/healthz') || koa.path.endsWith('/metrics'));
      log[routine ? 'debug' : 'info']('request', { method: koa.method, path: koa.path, status: koa.status, ms: Math.round(elapsed), user });
    }
  };
}

/**
 * An answer given before the request body was read (401, 404, 413, 429 …) closes the connection:
 * Node would otherwise keep reading the unwanted body to reuse the connection, and a client
 * dribbling it could hold the connection for as long as it liked.
 */
function closeUnreadBodies(): Koa.Middleware {
  return async (koa, next) => {
    try {
      await next();
    } finally {
      if (!koa.req.complete && !koa.headerSent) koa.set('Connection', 'close');
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
      // The store's quota trigger, whichever write ran into it.
      else if (isQuotaExceeded(error)) dav = quotaExceeded();
      // A full disk: under the file bodies, the embedded store's or PostgreSQL's.
      else if (isStorageFull(error)) dav = insufficientStorage();
      // PostgreSQL is down or restarting: transient, so 503 and a hint when to retry (RFC 9110 §15.6.4);
      // the pool reconnects by itself once it is back.
      else if (isDatabaseUnavailable(error)) {
        log.warn('database unavailable', { method: koa.method, path: koa.path, error: (error as Error).message });
        dav = new DavError(503, { message: 'the database is unavailable, try again shortly', headers: { 'Retry-After': '5' } });
      }
      else if (isHttpError(error)) dav = new DavError(error.status, { message: error.expose ? error.message : undefined });
      else {
        log.error('unhandled error', { method: koa.method, path: koa.path, error: (error as Error).stack ?? String(error) });
        dav = new DavError(500);
      }
      const { type, text } = dav.body();
      koa.status = dav.status;
      for (const [name, value] of Object.entries(dav.options.headers ?? {})) koa.set(name, value);
      koa.type = type;
      // Koa sends no body for HEAD but keeps its length; a null body would turn the status into 204.
      koa.body = text;
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

/**
 * Listens on the configured host and port (0: any free port), over HTTPS (HTTP/1.1) when TLS
 * files are configured; `tls` passes them already loaded.
 */
export async function startServer(deps: ServerDeps, options: { tls?: TlsMaterial } = {}): Promise<RunningServer> {
  const app = createApp(deps);
  const { headersTimeoutMs, idleTimeoutMs } = deps.config;
  const tls = options.tls ?? (deps.config.tls ? loadTls(deps.config.tls) : undefined);
  // Node checks headersTimeout only every connectionsCheckingInterval (30 s by default): check
  // often enough that a client dribbling its headers is cut off close to the configured time.
  const serverOptions = { connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs) };
  const server: http.Server = tls
    ? https.createServer({ ...serverOptions, cert: tls.cert, key: tls.key }, app.callback())
    : http.createServer(serverOptions, app.callback());
  // A slow client may not hold a connection by dribbling headers; large uploads are bounded by
  // inactivity rather than total time.
  server.headersTimeout = headersTimeoutMs;
  server.requestTimeout = 0;
  server.timeout = idleTimeoutMs;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.port, deps.config.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    server,
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
