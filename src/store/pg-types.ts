/** How values of PostgreSQL's types become JavaScript values, for both stores. */
import pg from 'pg';

const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMPTZ = 1184;

const parseTimestamptzSlowly = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => Date;

/**
 * A timestamptz as PostgreSQL writes it (DateStyle ISO): `2026-01-05 09:00:00.123456+00`, the
 * offset also as `+05:30`. That shape is read by the engine's own ISO 8601 parser, faster than
 * pg's regular expressions and with less garbage, which matters when a listing brings two per
 * row; anything else (BC, infinity, a year past 9999, an offset with seconds) goes to pg's parser.
 */
export function parseTimestamptz(text: string): Date {
  const length = text.length;
  if (length >= 22 && text.charCodeAt(4) === 45 && text.charCodeAt(10) === 32) {
    const iso = isSign(text.charCodeAt(length - 3))
      ? `${text.slice(0, 10)}T${text.slice(11)}:00`
      : isSign(text.charCodeAt(length - 6)) && text.charCodeAt(length - 3) === 58
        ? `${text.slice(0, 10)}T${text.slice(11)}`
        : undefined;
    if (iso !== undefined) {
      const ms = Date.parse(iso);
      if (!Number.isNaN(ms)) return new Date(ms);
    }
  }
  return parseTimestamptzSlowly(text);
}

function isSign(code: number): boolean {
  return code === 43 || code === 45;
}

/** int8 and numeric counts come back as JavaScript numbers (every id and size here is below 2^53). */
export const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (format !== 'binary') {
      if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
      if (oid === TIMESTAMPTZ) return parseTimestamptz;
    }
    return pg.types.getTypeParser(oid, format);
  },
};
