/**
 * GET /metrics in the Prometheus text exposition format (version 0.0.4): request counts, a
 * latency histogram, database pool gauges, stored blob bytes and resident memory. Written here
 * rather than with prom-client: a counter, a histogram and a few gauges are a page of code.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { Database } from '../store/db.js';

/** Upper bounds in seconds: from a cached PROPFIND (~1 ms) to a large upload. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

/**
 * Methods counted under their own name; any other becomes "other", so a client inventing
 * methods cannot grow the series without bound.
 */
const KNOWN_METHODS = new Set([
  'GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'MKCALENDAR',
  'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'PATCH',
]);

function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'other';
}

interface Histogram {
  /** Cumulative counts per bucket of LATENCY_BUCKETS, then +Inf. */
  counts: number[];
  sum: number;
}

/** What the access log feeds: one observation per finished request. */
export class HttpMetrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();

  observe(method: string, status: number, seconds: number): void {
    const m = methodLabel(method);
    const key = `${m} ${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    let histogram = this.#latency.get(m);
    if (!histogram) {
      histogram = { counts: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0 };
      this.#latency.set(m, histogram);
    }
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]!) histogram.counts[i]!++;
    histogram.counts[LATENCY_BUCKETS.length]!++;
    histogram.sum += seconds;
  }

  /** The HTTP families as exposition text. */
  render(): string {
    const out: string[] = [
      '# HELP davenport_http_requests_total HTTP requests answered, by method and status.',
      '# TYPE davenport_http_requests_total counter',
    ];
    for (const [key, count] of [...this.#requests].sort()) {
      const [method, status] = key.split(' ');
      out.push(`davenport_http_requests_total{method="${method}",status="${status}"} ${count}`);
    }
    out.push(
      '# HELP davenport_http_request_duration_seconds Time from request to response end, by method.',
      '# TYPE davenport_http_request_duration_seconds histogram',
    );
    for (const [method, h] of [...this.#latency].sort(([a], [b]) => (a < b ? -1 : 1))) {
      LATENCY_BUCKETS.forEach((le, i) => out.push(`davenport_http_request_duration_seconds_bucket{method="${method}",le="${le}"} ${h.counts[i]}`));
      out.push(`davenport_http_request_duration_seconds_bucket{method="${method}",le="+Inf"} ${h.counts[LATENCY_BUCKETS.length]}`);
      out.push(`davenport_http_request_duration_seconds_sum{method="${method}"} ${h.sum}`);
      out.push(`davenport_http_request_duration_seconds_count{method="${method}"} ${h.counts[LATENCY_BUCKETS.length]}`);
    }
    return out.join('\n') + '\n';
  }
}

/** A gauge family of one sample (or one per label set). */
function gauge(name: string, help: string, samples: ReadonlyArray<[labels: string, value: number]>): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`];
  for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  return lines.join('\n') + '\n';
}

/** How long a scrape waits for the database before reporting it unreachable. */
const STORE_TIMEOUT_MS = 2_000;

/** Sum and count of the stored file bodies: one scan of the `blobs` table (narrow: bodies kept there are TOASTed). */
async function blobTotals(db: Database): Promise<{ bytes: number; count: number }> {
  const query = db.query<{ bytes: number; count: number }>('SELECT coalesce(sum(size), 0)::bigint AS bytes, count(*)::bigint AS count FROM blobs');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), STORE_TIMEOUT_MS);
  });
  try {
    const rows = await Promise.race([query, timeout]);
    return rows[0]!;
  } finally {
    clearTimeout(timer);
    query.catch(() => {});
  }
}

/** The whole exposition: HTTP families, then the store and the process, read now. */
export async function renderMetrics(http: HttpMetrics, db: Database): Promise<string> {
  const pool = db.poolStats();
  let store = '';
  try {
    const blobs = await blobTotals(db);
    store =
      gauge('davenport_store_up', 'Whether the database answered this scrape.', [['', 1]]) +
      gauge('davenport_blob_bytes', 'Bytes of stored file bodies (each distinct body of a user counted once).', [['', blobs.bytes]]) +
      gauge('davenport_blobs', 'Stored file bodies.', [['', blobs.count]]);
  } catch {
    store = gauge('davenport_store_up', 'Whether the database answered this scrape.', [['', 0]]);
  }
  return (
    http.render() +
    gauge('davenport_db_pool_connections', `Database pool connections by state (${db.kind}).`, [
      ['{state="total"}', pool.total],
      ['{state="idle"}', pool.idle],
    ]) +
    gauge('davenport_db_pool_waiting', 'Queries waiting for a database connection.', [['', pool.waiting]]) +
    store +
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [['', process.memoryUsage.rss()]]) +
    gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', [
      ['', Math.round((Date.now() - process.uptime() * 1000) / 1000)],
    ])
  );
}

/** Compares two secrets in time that depends on neither: both are hashed to 32 bytes first. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Serves `paths` when METRICS_TOKEN is set and the request carries `Authorization: Bearer
 * <token>` (RFC 6750 §2.1); without a token configured the endpoint does not exist (404).
 */
export function metricsRoute(paths: readonly string[], token: string | undefined, http: HttpMetrics, db: Database): Koa.Middleware {
  return async (koa, next) => {
    if (!paths.includes(koa.path)) return next();
    if (token === undefined) return next();
    koa.set('Cache-Control', 'no-store');
    if (koa.method !== 'GET' && koa.method !== 'HEAD') {
      koa.status = 405;
      koa.set('Allow', 'GET, HEAD');
      return;
    }
    const match = /^Bearer +(\S+) *$/i.exec(koa.get('Authorization'));
    if (!match || !sameSecret(match[1]!, token)) {
      koa.status = 401;
      koa.set('WWW-Authenticate', 'Bearer realm="metrics"');
      koa.type = 'text/plain; charset=utf-8';
      koa.body = 'A bearer token is required.\n';
      return;
    }
    koa.type = 'text/plain; version=0.0.4; charset=utf-8';
    koa.body = await renderMetrics(http, db);
  };
}
