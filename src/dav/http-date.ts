/**
 * HTTP dates (RFC 9110 §5.6.7, IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`), as
 * Date.prototype.toUTCString writes them for years 1000–9999, in a quarter of its time: a
 * Last-Modified goes out with every GET and PUT, and a getlastmodified with every member of a
 * listing (toUTCString was 3% of a cached GET).
 */
const WEEKDAYS = ['Thu', 'Fri', 'Sat', 'Sun', 'Mon', 'Tue', 'Wed']; // 1970-01-01 was a Thursday
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MS_PER_DAY = 86_400_000;
/** 1000-01-01 and 10000-01-01: outside, toUTCString's own padding and signs apply. */
const FIRST_MS = -30_610_224_000_000;
const END_MS = 253_402_300_800_000;

export function httpDate(date: Date): string {
  const ms = date.getTime();
  if (!(ms >= FIRST_MS && ms < END_MS)) return date.toUTCString();
  const days = Math.floor(ms / MS_PER_DAY);
  const seconds = Math.floor((ms - days * MS_PER_DAY) / 1000);
  const { year, month, day } = civilFromDays(days);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return `${WEEKDAYS[((days % 7) + 7) % 7]}, ${two(day)} ${MONTHS[month - 1]} ${year} ${two(hours)}:${two(minutes)}:${two(seconds % 60)} GMT`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** Days since 1970-01-01 to the proleptic Gregorian date (H. Hinnant's civil_from_days). */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153); // March = 0
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}
