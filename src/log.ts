import type { LogLevel } from './config.js';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Fields (or header names inside a field) whose values are secrets: never written, at any level. */
const SECRET_KEYS = /^(authorization|proxy-authorization|cookie|set-cookie|password|secret|token)$/i;
/** Credentials quoted inside free text, e.g. an error message that echoes a header. */
const CREDENTIALS_IN_TEXT = /\b(Basic|Bearer|Digest)( +)[^\s"',;]+/gi;

/** A copy of a field value without secrets: by key in objects (headers), by pattern in text. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(CREDENTIALS_IN_TEXT, '$1$2[redacted]');
  if (typeof value !== 'object' || value === null || depth > 4) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Date) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) copy[key] = SECRET_KEYS.test(key) ? '[redacted]' : redact(inner, depth + 1);
  return copy;
}

/**
 * One line per event on stderr: time, level, message, then key=value fields. Secrets are
 * redacted here, once, so no caller can log an Authorization or Cookie header by mistake.
 */
export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const emit = (at: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (RANK[at] < RANK[level]) return;
    let line = `${new Date().toISOString()} ${at.toUpperCase()} ${msg}`;
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined) line += ` ${key}=${JSON.stringify(SECRET_KEYS.test(key) ? '[redacted]' : redact(value))}`;
      }
    }
    write(line);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
