import path from 'node:path';
import { isPhoneRegion } from './dav/carddav/vcard/phone.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** Real PostgreSQL when set; the embedded PGlite store under dataDir otherwise. */
  databaseUrl: string | undefined;
  /** Public origin and path prefix when served behind a reverse proxy, e.g. https://example.org/cloud */
  baseUrl: URL | undefined;
  logLevel: LogLevel;
  /** Largest request body accepted for a file upload (bytes). */
  maxUploadBytes: number;
  /** Largest XML request body accepted (bytes). */
  maxXmlBytes: number;
  /** PEM files of the certificate (chain) and key when this server speaks HTTPS itself. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** The bearer token /metrics requires; without one /metrics is not served. */
  metricsToken: string | undefined;
  /** Uploads (PUT bodies) one user may send at the same time; more get 429 with Retry-After. */
  maxUploadsPerUser: number;
  /** How long a client may take to send its request headers (ms). */
  headersTimeoutMs: number;
  /** How long a connection may stay silent, mid-request or idle, before it is closed (ms). */
  idleTimeoutMs: number;
  /** ISO 3166 country of phone numbers written without a country code, for E.164 matching of contacts. */
  phoneRegion: string | undefined;
  /** The embedded store's page cache (PostgreSQL's shared_buffers), in MiB. */
  embeddedCacheMb: number;
}

/**
 * The embedded store's page cache by default. PostgreSQL's own default, 128 MB, is taken whole
 * from PGlite's WebAssembly memory at start (which never shrinks): a fresh server sat at ~410 MB
 * with it and ~300 MB with 32 MB, and interleaved benchmark runs on 10 000 events, 5 000 cards
 * and 2 000 files found no row slower (the operating system caches the files beneath it).
 */
export const DEFAULT_EMBEDDED_CACHE_MB = 32;

/** A configuration problem: start-up stops with this one line. */
export class ConfigError extends Error {}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = (env.LOG_LEVEL ?? 'info') as LogLevel;
  if (!LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);

  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// or postgresql://');
  }

  let baseUrl: URL | undefined;
  if (env.BASE_URL) {
    try {
      baseUrl = new URL(env.BASE_URL);
    } catch {
      throw new ConfigError(`BASE_URL is not a valid absolute URL: "${env.BASE_URL}"`);
    }
    if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') throw new ConfigError('BASE_URL must be http:// or https://');
    if (baseUrl.search || baseUrl.hash) throw new ConfigError('BASE_URL must not have a query or fragment');
    if (!baseUrl.pathname.endsWith('/')) baseUrl.pathname += '/';
  }

  // Both or neither; whether the files hold a usable pair is checked by ops/tls.ts at start-up.
  const certFile = env.TLS_CERT || undefined;
  const keyFile = env.TLS_KEY || undefined;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new ConfigError('TLS_CERT and TLS_KEY must be set together (paths to PEM files)');

  const metricsToken = env.METRICS_TOKEN || undefined;
  // Sent by a scraper on every request: long enough not to be guessed, and a single token68 word.
  if (metricsToken !== undefined && !/^[A-Za-z0-9._~+/-]{16,}=*$/.test(metricsToken)) {
    throw new ConfigError('METRICS_TOKEN must be at least 16 characters of letters, digits and . _ ~ + / -');
  }

  const phoneRegion = env.PHONE_REGION ? env.PHONE_REGION.toUpperCase() : undefined;
  if (phoneRegion && !isPhoneRegion(phoneRegion)) throw new ConfigError(`PHONE_REGION must be a two-letter country code such as GB or DE, got "${env.PHONE_REGION}"`);

  const host = env.HOST || '127.0.0.1';
  return {
    host,
    port: integer(env, 'PORT', 8080, 0, 65535),
    dataDir: path.resolve(env.DATA_DIR || './data'),
    databaseUrl,
    baseUrl,
    logLevel,
    maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', 16 * 1024 ** 3, 0, Number.MAX_SAFE_INTEGER),
    maxXmlBytes: integer(env, 'MAX_XML_BYTES', 1024 ** 2, 1024, 64 * 1024 ** 2),
    tls: certFile && keyFile ? { certFile: path.resolve(certFile), keyFile: path.resolve(keyFile) } : undefined,
    metricsToken,
    maxUploadsPerUser: integer(env, 'MAX_UPLOADS_PER_USER', 8, 1, 1000),
    headersTimeoutMs: integer(env, 'HEADERS_TIMEOUT_MS', 30_000, 100, 600_000),
    idleTimeoutMs: integer(env, 'IDLE_TIMEOUT_MS', 120_000, 100, 3_600_000),
    phoneRegion,
    embeddedCacheMb: integer(env, 'EMBEDDED_CACHE_MB', DEFAULT_EMBEDDED_CACHE_MB, 16, 16_384),
  };
}
