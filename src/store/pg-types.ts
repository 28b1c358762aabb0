/** How values of PostgreSQL's types become JavaScript values, for both stores. */
import pg from 'pg';

const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMPTZ = 1184;

const parseTimestamptzSlowly = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => Date;

/**
 * A timestamptz as PostgreSQL writes it (DateStyle ISO): `2026-01-05 09:00:00.123456+00`, the
 * offset also as `+05:30`. That shape is read digit by digit into milliseconds: a listing brings
 * two per row, and pg's regular expressions (or an ISO string rebuilt for Date.parse) made a tenth
 * of a large PROPFIND's garbage. Anything else (BC, infinity, a year before 100 or past 9999, an
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
  const century = pair(text, 0);
  const yearOfCentury = pair(text, 2);
  const month = pair(text, 5);
  const day = pair(text, 8);
  const hour = pair(text, 11);
  const minute = pair(text, 14);
  const second = pair(text, 17);
  // pair() is negative for anything but two digits.
  if (century < 1 || yearOfCentury < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || minute < 0 || second < 0) return undefined;
  const year = century * 100 + yearOfCentury;
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
  const offsetHours = pair(text, i + 1);
  let offsetMinutes = 0;
  if (length === i + 6 && text.charCodeAt(i + 3) === 58) offsetMinutes = pair(text, i + 4);
  else if (length !== i + 3) return undefined;
  if (offsetHours < 0 || offsetMinutes < 0) return undefined;
  const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
  const ms = (daysFromCivil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000 + millis;
  return sign === 43 ? ms - offset : ms + offset;
}

/** The number of two digits at `start`, or -1 if either is not a digit. */
function pair(text: string, start: number): number {
  const tens = text.charCodeAt(start) - 48;
  const ones = text.charCodeAt(start + 1) - 48;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil): integer arithmetic, where Date.UTC was a third of a timestamp's cost.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
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
