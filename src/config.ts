import path from 'node:path';

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
}

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
  };
}
