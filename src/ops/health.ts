/**
 * GET /healthz for load balancers and orchestrators: 200 when the database answers a trivial
 * query within a short time, 503 otherwise. No authentication, never cached.
 */
import type Koa from 'koa';
import type { Database } from '../store/db.js';

/** A store slower than this is reported unhealthy: a probe must not hang with the database. */
export const HEALTH_TIMEOUT_MS = 2_000;

/**
 * Probes run one at a time: while the database hangs, every further request shares the pending
 * probe instead of queueing one more query on the pool.
 */
export class StoreProbe {
  #pending: Promise<boolean> | undefined;

  constructor(
    private readonly db: Database,
    private readonly timeoutMs: number = HEALTH_TIMEOUT_MS,
  ) {}

  /** Whether `SELECT 1` succeeded within the timeout. */
  reachable(): Promise<boolean> {
    this.#pending ??= this.#probe().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  async #probe(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const query = this.db.query('SELECT 1').then(
      () => true,
      () => false,
    );
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.timeoutMs);
    });
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Answers GET and HEAD on any of `paths`, before authentication. */
export function healthRoute(paths: readonly string[], probe: StoreProbe): Koa.Middleware {
  return async (koa, next) => {
    if (!paths.includes(koa.path)) return next();
    koa.set('Cache-Control', 'no-store');
    if (koa.method !== 'GET' && koa.method !== 'HEAD') {
      koa.status = 405;
      koa.set('Allow', 'GET, HEAD');
      return;
    }
    const ok = await probe.reachable();
    koa.status = ok ? 200 : 503;
    if (!ok) koa.set('Retry-After', '5');
    koa.type = 'text/plain; charset=utf-8';
    koa.body = ok ? 'ok\n' : 'database unreachable\n';
  };
}
