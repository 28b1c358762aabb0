/** How values of PostgreSQL's types become JavaScript values, for both stores. */
import pg from 'pg';

const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMPTZ = 1184;

const parseTimestamptzSlowly = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => Date;

/**
 * A timestamptz as PostgreSQL writes it (DateStyle ISO): `2026-01-05 09:00:00.123456+00`, the
 * offset also as `+05:30`. That shape is read digit by digit into Date.UTC: a listing brings two
 * per row, and pg's regular expressions (or an ISO string rebuilt for Date.parse) made a tenth of
 * a large PROPFIND's garbage. Anything else (BC, infinity, a year before 100 or past 9999, an
 * offset with seconds) goes to pg's parser.
 */
export function parseTimestamptz(text: string): Date {
  const ms = parseIsoTimestamptz(text);
  return ms === undefined ? parseTimestamptzSlowly(text) : new Date(ms);
}

/** Milliseconds since the epoch of `YYYY-MM-DD HH:MM:SS[.f…](+|-)HH[:MM]`, else undefined. */
function parseIsoTimestamptz(text: string): number | undefined {
  const length = text.length;
  if (length < 22 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  let i = 19;
  let millis = 0;
  if (text.charCodeAt(i) === 46) {
    // Microseconds: the first three digits are milliseconds, the rest is dropped (as pg does).
    const first = ++i;
    while (i < length && isDigit(text.charCodeAt(i))) i++;
    for (let k = first, scale = 100; k < i && scale >= 1; k++, scale /= 10) millis += (text.charCodeAt(k) - 48) * scale;
  }
  const sign = text.charCodeAt(i);
  if (sign !== 43 && sign !== 45) return undefined;
  const offsetHours = digits(text, i + 1, 2);
  let offsetMinutes = 0;
  if (length === i + 6 && text.charCodeAt(i + 3) === 58) offsetMinutes = digits(text, i + 4, 2);
  else if (length !== i + 3) return undefined;
  if (offsetHours < 0 || offsetMinutes < 0) return undefined;
  const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - (sign === 43 ? offset : -offset);
}

/** The decimal number of `count` digits at `start`, or -1 if any is not a digit. */
function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + code - 48;
  }
  return value;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
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
